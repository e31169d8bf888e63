package io.flipflow.workflows.result;

/**
 * A staging's progress, as its {@code status} query answers.
 *
 * @param groupsDone shard groups staged (in this and earlier executions)
 * @param groups shard groups in all; 0 while planning
 * @param samples samples staged so far
 * @param badSamples samples skipped as bad so far
 * @param lostShards shards lost so far
 */
public record StagingStatus(
    int groupsDone, int groups, long samples, long badSamples, int lostShards) {

  public static StagingStatus planning() {
    return new StagingStatus(0, 0, 0, 0, 0);
  }

  public StagingStatus plus(StagedGroup g) {
    return new StagingStatus(
        groupsDone + 1,
        groups,
        samples + g.samples(),
        badSamples + g.badSamples(),
        lostShards + g.lostShards());
  }
}
