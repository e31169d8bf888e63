package io.flipflow.workflows.plan;

/**
 * A staging split into shard groups, as the planning activity found it: where its plan is, how many
 * shards it has and how the cpu workers are to share them. Only counts and a URI: the shard list
 * itself stays in S3.
 *
 * @param dataUri the raw shards as the user named them (for messages and {@code data_issues})
 * @param planUri the plan in S3 every group stages from
 * @param shardCount shards the data set names
 * @param shardsPerGroup shards one group activity stages ({@code staging.shards_per_group})
 * @param groupsInFlight groups scheduled at once ({@code staging.groups_in_flight}); the cpu
 *     workers' activity slots decide how many run
 * @param staged the staged set when it is published already (nothing to stage), else null
 */
public record StagingPlan(
    String dataUri,
    String planUri,
    int shardCount,
    int shardsPerGroup,
    int groupsInFlight,
    io.flipflow.workflows.result.StagedDataset staged) {

  /** How many groups the shards make: the last one may be smaller. */
  public int groups() {
    return (int) ((shardCount + (long) shardsPerGroup - 1) / shardsPerGroup);
  }

  /** Group {@code index}, staged for the run {@code runId} (its data issues are recorded so). */
  public ShardGroup group(int index, String runId) {
    int first = index * shardsPerGroup;
    return new ShardGroup(
        dataUri, planUri, first, Math.min(shardCount, first + shardsPerGroup), runId);
  }
}
