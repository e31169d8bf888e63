package io.flipflow.activities.data.staging;

/**
 * What a hostile or broken data set can make large, bounded: each limit refuses with a message and
 * a {@code data_issues} row, never an OutOfMemoryError. Config keys {@code staging.*}.
 *
 * @param maxImagePixels decoded pixels of one image, read from its header before decoding (a 1.5 MB
 *     PNG can declare 20000 x 20000 RGBA, 1.5 GiB decoded)
 * @param maxMemberBytes bytes of one tar member; a larger one is skipped without being read
 * @param maxCaptionBytes bytes of one caption
 * @param maxShards shards one data set may name
 * @param maxBadFraction samples lost (bad, or in lost shards) as a share of all, above which the
 *     staging fails and nothing is published
 * @param maxFailedShards shards that may be lost whole or in part (unreadable, truncated)
 */
public record StagingLimits(
    long maxImagePixels,
    long maxMemberBytes,
    int maxCaptionBytes,
    int maxShards,
    double maxBadFraction,
    int maxFailedShards) {

  public StagingLimits {
    if (maxImagePixels <= 0 || maxMemberBytes <= 0 || maxCaptionBytes <= 0 || maxShards <= 0) {
      throw new IllegalArgumentException(
          "staging limits must be positive: "
              + maxImagePixels
              + ", "
              + maxMemberBytes
              + ", "
              + maxCaptionBytes
              + ", "
              + maxShards);
    }
    if (!(maxBadFraction >= 0 && maxBadFraction <= 1)) {
      throw new IllegalArgumentException(
          "staging.max_bad_fraction: must be in [0, 1], got " + maxBadFraction);
    }
    if (maxFailedShards < 0) {
      throw new IllegalArgumentException(
          "staging.max_failed_shards: must be >= 0, got " + maxFailedShards);
    }
  }

  /**
   * 64 Mi pixels (8192 x 8192), 64 MiB per member, 32 KiB per caption, 100,000 shards (LAION-400M
   * has about 41,000), 1% of samples, no lost shard.
   */
  public static StagingLimits defaults() {
    return new StagingLimits(64L << 20, 64L << 20, 32 << 10, 100_000, 0.01, 0);
  }
}
