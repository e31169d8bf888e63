package io.flipflow.workflows.activities;

import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.result.StageRecord;
import io.flipflow.workflows.result.StudyRunResult;
import io.flipflow.workflows.spec.RunIdentity;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.StudySpec;
import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

/**
 * Writes to Postgres, on the {@code flipflow-control} queue. Every method is an idempotent upsert
 * by the keys named, so a retried activity (or a replayed workflow) never duplicates a row. The
 * workflows call them even while cancelling, so they must be short.
 */
@ActivityInterface
public interface RecordActivities {
  /**
   * Claims the run's id for this execution before anything is written: refused (type {@code
   * BadInput}, naming the existing run, what differs and the choices) when a run of this id exists
   * with another spec, when {@code resume} is asked and there is no run to resume, or when a lone
   * run names a study that does not exist. A run of the same id and spec may continue.
   */
  @ActivityMethod
  void claimRun(RunIdentity identity, RunSpec spec);

  /**
   * Upserts the {@code runs} row by {@code workflowId}: spec as JSONB, the typed axis columns
   * (model, mask ratio, batch size, data), study id, status RUNNING.
   *
   * @param temporalRunId Temporal's run id of this execution
   */
  @ActivityMethod
  void recordRunStarted(
      String workflowId, String temporalRunId, RunSpec spec, long startedAtMillis);

  /** Upserts the {@code stages} row by (workflowId, stage). */
  @ActivityMethod
  void recordStage(StageRecord stage);

  /** Sets the {@code runs} row's training-set size, once staging knows it. */
  @ActivityMethod
  void recordDataSamples(String workflowId, long samples);

  /**
   * Asked for by pipelines started before version {@code stage-requests}, after each evaluation.
   * The evaluation activity has already written these rows ({@code eval_results} has one writer),
   * so this writes nothing.
   */
  @Deprecated
  @ActivityMethod
  void recordEvalResults(
      String workflowId, String phase, CheckpointRef checkpoint, EvalReport report);

  /** Sets the {@code runs} row's end: status, samples seen, top-1, message. */
  @ActivityMethod
  void recordRunFinished(RunSummary summary, long finishedAtMillis);

  /** Upserts the {@code studies} row by {@code studyId}: spec, workflow id, status. */
  @ActivityMethod
  void recordStudy(String studyId, String workflowId, StudySpec spec, RunStatus status);

  /** Upserts the study's link to one run by (studyId, run.workflowId()), with its outcome. */
  @ActivityMethod
  void recordStudyRun(String studyId, StudyRunResult run);
}
