package io.flipflow.workflows.activities;

import io.flipflow.workflows.plan.ShardGroup;
import io.flipflow.workflows.plan.StagingPlan;
import io.flipflow.workflows.plan.StagingRequest;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.StagedGroup;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

/** Data staging, on the {@code flipflow-cpu} queue. */
@ActivityInterface
public interface DataActivities {
  /**
   * Lists the shards and writes the staging's plan to S3, or finds the set published already
   * ({@link StagingPlan#staged}). The first step of {@code StagingWorkflow}. Bad input (no shard,
   * bucket missing, no tokenizer, too many shards): ApplicationFailure type {@code BadInput}.
   */
  @ActivityMethod
  StagingPlan planStaging(StagingRequest request);

  /**
   * Stages one group of a plan's shards with this worker's threads, or returns at once when that
   * group is staged already; resumes after its finished shards. Heartbeats per shard. Skipped
   * samples go to {@code data_issues} under the group's run. A group that alone loses more shards
   * than {@code staging.max_failed_shards}, or a shard that fails for good: ApplicationFailure
   * naming the shard ({@code BadInput} when it is the data's fault).
   */
  @ActivityMethod
  StagedGroup stageGroup(ShardGroup group);

  /**
   * Checks what the whole set lost against this worker's limits and writes the manifest, once every
   * group is staged; returns the manifest already there when another staging published it.
   */
  @ActivityMethod
  StagedDataset publishStaging(StagingPlan plan);

  /**
   * Staging in one activity, as pipelines started before version {@code staging-workflow} ask for
   * it (later ones run {@code StagingWorkflow}). Turns raw shards into training-ready shards at the
   * request's resolution and context length, with a manifest, under a content address; returns at
   * once when that staged copy exists. Heartbeats per shard (details: shards done), resumes after
   * the last finished shard. Skipped samples go to {@code data_issues}. Bad input (no shard, bucket
   * missing, no tokenizer, too many bad samples): ApplicationFailure type {@code BadInput}.
   */
  @Deprecated
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
