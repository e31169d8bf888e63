package io.flipflow.activities.data.staging;

import java.util.Locale;

/** How a training stream picks the shards of its windows ({@link ShardWindows}). */
public enum ShardSampling {
  /** Every shard once per epoch, in a seeded permutation per epoch. */
  SHUFFLED,
  /** Shards drawn uniformly with replacement, window after window: no epochs. */
  RESAMPLED;

  /** A spec's {@code dataSampling}: {@code shuffled} or {@code resampled}; null is shuffled. */
  public static ShardSampling parse(String name) {
    if (name == null) {
      return SHUFFLED;
    }
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "shuffled" -> SHUFFLED;
      case "resampled" -> RESAMPLED;
      default ->
          throw new IllegalArgumentException(
              "dataSampling: must be shuffled or resampled, got '" + name + "'");
    };
  }
}
