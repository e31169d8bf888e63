package io.flipflow.workflows.plan;

/**
 * Shards [firstShard, endShard) of a planned staging: one group activity's work.
 *
 * @param dataUri the raw shards as the user named them
 * @param planUri the plan the group stages from
 * @param runId the workflow whose staging this is, recorded with its skipped samples
 */
public record ShardGroup(
    String dataUri, String planUri, int firstShard, int endShard, String runId) {}
