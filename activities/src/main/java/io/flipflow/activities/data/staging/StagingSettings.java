package io.flipflow.activities.data.staging;

/**
 * How a cpu worker takes part in staging fanned out over the cluster. Config keys {@code
 * staging.*}.
 *
 * @param shardsPerGroup shards one group activity stages: fewer make the work spread wider and a
 *     retry redo less; more keep a huge set's history shorter
 * @param groupsInFlight groups a staging schedules at once; the cpu workers' slots decide how many
 *     run, so this only needs to exceed them
 * @param threads shards one group stages at once (download, decode) on this worker
 * @param slots group activities this worker runs at once
 * @param format the staged record format of the sets this worker plans
 */
public record StagingSettings(
    int shardsPerGroup, int groupsInFlight, int threads, int slots, StagedManifest.Format format) {
  public StagingSettings {
    if (format == null) {
      throw new IllegalArgumentException("staging.format: must be encoded or raw");
    }
    check("staging.shards_per_group", shardsPerGroup, 100_000);
    check("staging.groups_in_flight", groupsInFlight, 10_000);
    check("staging.threads", threads, 1024);
    check("staging.slots", slots, 1024);
  }

  private static void check(String key, int value, int max) {
    if (value < 1 || value > max) {
      throw new IllegalArgumentException(key + ": must be in [1, " + max + "], got " + value);
    }
  }

  /**
   * 16 shards per group, 64 groups in flight, one thread per core (at least 2), 1 slot, encoded
   * records.
   */
  public static StagingSettings defaults() {
    return new StagingSettings(
        StageData.DEFAULT_SHARDS_PER_GROUP,
        64,
        Math.max(2, Runtime.getRuntime().availableProcessors()),
        1,
        StagedManifest.Format.ENCODED);
  }
}
