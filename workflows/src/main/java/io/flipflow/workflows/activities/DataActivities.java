package io.flipflow.workflows.activities;

import io.flipflow.workflows.plan.StagingRequest;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

/** Data staging, on the {@code flipflow-cpu} queue. */
@ActivityInterface
public interface DataActivities {
  /**
   * Turns raw shards into training-ready shards at the request's resolution and context length,
   * with a manifest, under a content address; returns at once when that staged copy exists.
   * Heartbeats per shard (details: shards done), resumes after the last finished shard. Skipped
   * samples go to {@code data_issues}. Bad input (no shard, bucket missing, no tokenizer, too many
   * bad samples): ApplicationFailure type {@code BadInput}.
   */
  @ActivityMethod
  StagedDataset stage(StagingRequest request);

  /**
   * Staging as pipelines started before version {@code stage-requests} ask for it: {@link #stage}
   * at the spec's size and its preset's context. Served until no such pipeline runs.
   */
  @Deprecated
  @ActivityMethod
  StagedDataset stageData(RunSpec spec);
}
