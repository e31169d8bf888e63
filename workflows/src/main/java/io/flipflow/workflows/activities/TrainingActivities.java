package io.flipflow.workflows.activities;

import io.flipflow.workflows.plan.RankAssignment;
import io.flipflow.workflows.plan.TrainingPlan;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.TrainResult;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

/**
 * Training, on the {@code flipflow-gpu} queue, one activity at a time per worker process and
 * device.
 *
 * <p>The contract of a training stage:
 *
 * <ul>
 *   <li>Heartbeat from a background thread at a third of the heartbeat timeout (90 s) with a {@code
 *       TrainingHeartbeat} (progress and newest checkpoint) as details, so the UI shows progress
 *       and a retry finds where to resume.
 *   <li>A retry resumes from the newer of the last heartbeat's checkpoint and the newest checkpoint
 *       row in Postgres.
 *   <li>When a heartbeat throws (cancellation, or the attempt timed out), stop at the next step
 *       boundary, write a checkpoint, and <em>return</em> a {@link TrainResult} with {@code
 *       stoppedEarly = true}: the workflow waits for it (cancellation type
 *       WAIT_CANCELLATION_COMPLETED) and records its checkpoint.
 *   <li>Also send the workflow a {@code reportProgress(Progress)} signal now and then, as {@link
 *       ProgressSignals} paces them (sparse: a month of training is about 1,500), so the {@code
 *       progress} query can show step, loss and ETA: workflows cannot read heartbeats.
 *   <li>Bad input (unknown preset, data that does not fit the preset, missing checkpoint):
 *       ApplicationFailure type {@code BadInput}; a diverged loss: type {@code TrainingDiverged}.
 * </ul>
 */
@ActivityInterface
public interface TrainingActivities {
  /**
   * Runs one stage of the plan: masked pretraining for its schedule (fitted to its wall-clock
   * budget when it has one), or unmasked tuning from {@code plan.initFrom()}. The returned counts
   * are the stage's own.
   */
  @ActivityMethod
  TrainResult train(TrainingPlan plan);

  /**
   * Runs one rank of a data-parallel stage (spec {@code ranks} above 1): the pipeline starts every
   * rank of a gang at once, each on its own worker process and device; rank 0 serves the c10d
   * rendezvous and publishes its address where the others find it, and alone checkpoints, records
   * and returns the stage's checkpoint (the other ranks return theirs without one). Not retried on
   * its own: when any rank fails the pipeline cancels the others and starts the whole gang again,
   * resuming from the newest checkpoint.
   */
  @ActivityMethod
  TrainResult trainRank(TrainingPlan plan, RankAssignment rank);

  /** Pretraining as pipelines started before version {@code stage-requests} ask for it. */
  @Deprecated
  @ActivityMethod
  TrainResult pretrain(RunSpec spec, StagedDataset data, String workflowId);

  /** Unmasked tuning as pipelines started before version {@code stage-requests} ask for it. */
  @Deprecated
  @ActivityMethod
  TrainResult unmaskedTune(RunSpec spec, StagedDataset data, CheckpointRef from);
}
