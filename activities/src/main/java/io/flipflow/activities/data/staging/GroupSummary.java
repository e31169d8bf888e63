package io.flipflow.activities.data.staging;

import java.util.List;
import java.util.Map;

/**
 * {@code groups/FIRST-END.json}: how shards [first, end) of a planned staging went, written once
 * they all are, so that publishing reads one file per group instead of one per shard. The shards'
 * sample issues stay in their markers and in {@code data_issues}; here only their reasons are
 * counted, with the first one, for the failure message.
 */
public record GroupSummary(
    int firstShard,
    int endShard,
    List<ShardStager.ShardResult> shards,
    Map<String, Integer> reasons,
    StageData.DataIssue firstIssue) {}
