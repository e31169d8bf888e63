package io.flipflow.workflows.activities;

import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.TrainResult;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

/**
 * Training, on the {@code flipflow-gpu} queue, one activity slot per device.
 *
 * <p>Both methods share one contract:
 *
 * <ul>
 *   <li>Heartbeat from a background thread at least every 30 s (the heartbeat timeout is 90 s) with
 *       a {@code TrainingHeartbeat} (progress and newest checkpoint) as details, so the UI shows
 *       progress and a retry finds where to resume.
 *   <li>A retry resumes from the newer of the last heartbeat's checkpoint and the newest checkpoint
 *       row in Postgres.
 *   <li>When a heartbeat throws (cancellation, or the attempt timed out), stop at the next step
 *       boundary, write a checkpoint, and <em>return</em> a {@link TrainResult} with {@code
 *       stoppedEarly = true}: the workflow waits for it (cancellation type
 *       WAIT_CANCELLATION_COMPLETED) and records its checkpoint.
 *   <li>Also send the workflow a {@code reportProgress(Progress)} signal (workflow id from the
 *       argument or the activity info) at most every 30 s, so the {@code progress} query can show
 *       step, loss and ETA: workflows cannot read heartbeats.
 *   <li>Bad input (unknown preset, image size not divisible by the patch, missing checkpoint):
 *       {@link IllegalArgumentException} or ApplicationFailure type {@code BadInput}.
 * </ul>
 */
@ActivityInterface
public interface TrainingActivities {
  /**
   * Masked pretraining at {@code spec.maskRatio()} for the spec's schedule, or until {@code
   * spec.wallClockBudgetSeconds()} is spent.
   *
   * @param workflowId the pipeline's workflow id: key of the run's rows, target of progress signals
   */
  @ActivityMethod
  TrainResult pretrain(RunSpec spec, StagedDataset data, String workflowId);

  /**
   * Unmasked tuning (mask 0) from {@code from}: {@code unmaskedTuning.sampleFraction} of {@code
   * from.samplesSeen()} samples at {@code unmaskedTuning.lrFactor} of the pretraining LR. The
   * returned counts are the tuning's own, not including pretraining.
   */
  @ActivityMethod
  TrainResult unmaskedTune(RunSpec spec, StagedDataset data, CheckpointRef from);
}
