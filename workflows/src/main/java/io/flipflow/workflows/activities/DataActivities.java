package io.flipflow.workflows.activities;

import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

/** Data staging, on the {@code flipflow-cpu} queue. */
@ActivityInterface
public interface DataActivities {
  /**
   * Turns the spec's raw shards ({@code dataUri}, first {@code dataSamples}) into training-ready
   * shards at {@code imageSize} with a manifest, under a content address; returns at once when that
   * staged copy exists. Heartbeats per shard (details: shards done), resumes after the last
   * finished shard. Bad input (no shard, bucket missing, too many bad samples): {@link
   * IllegalArgumentException} or an ApplicationFailure of type {@code BadInput}.
   */
  @ActivityMethod
  StagedDataset stageData(RunSpec spec);
}
