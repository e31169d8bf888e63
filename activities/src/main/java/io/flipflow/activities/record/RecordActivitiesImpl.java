package io.flipflow.activities.record;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flipflow.activities.support.ActivityFailures;
import io.flipflow.db.Database;
import io.flipflow.db.RunStore;
import io.flipflow.db.StudyStore;
import io.flipflow.workflows.activities.RecordActivities;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.result.StageRecord;
import io.flipflow.workflows.result.StudyRunResult;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.StudySpec;

/** Writes the run record to Postgres; every call is an idempotent upsert (see the db stores). */
public final class RecordActivitiesImpl implements RecordActivities {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final RunStore store;
  private final StudyStore studies;

  public RecordActivitiesImpl(Database db) {
    this.store = db.runs();
    this.studies = db.studies();
  }

  /** The pipeline stage name as stored in {@code stages.stage}: PRETRAIN -> pretrain. */
  public static String stageName(io.flipflow.workflows.result.Stage stage) {
    return stage.name().toLowerCase(java.util.Locale.ROOT);
  }

  @Override
  public void recordRunStarted(
      String workflowId, String temporalRunId, RunSpec spec, long startedAtMillis) {
    ActivityFailures.run(
        () -> {
          store.upsertRun(
              new RunStore.RunRow(
                  workflowId,
                  temporalRunId,
                  spec.studyId(),
                  spec.name(),
                  spec.modelPreset(),
                  spec.imageSize(),
                  spec.maskRatio(),
                  spec.batchSize(),
                  spec.scheduleSamples(),
                  spec.dataUri(),
                  !Boolean.FALSE.equals(spec.unmaskedTuning().enabled()),
                  spec.seed(),
                  spec.device(),
                  JSON.writeValueAsString(spec)));
          return null;
        });
  }

  @Override
  public void recordStage(StageRecord s) {
    ActivityFailures.run(
        () -> {
          store.upsertStage(
              new RunStore.StageRow(
                  s.workflowId(),
                  stageName(s.stage()),
                  s.status().name(),
                  s.startedAtMillis(),
                  s.finishedAtMillis(),
                  s.samplesSeen(),
                  s.samplesPerSecond(),
                  s.message()));
          return null;
        });
  }

  @Override
  public void recordDataSamples(String workflowId, long samples) {
    ActivityFailures.run(
        () -> {
          store.setDataSamples(workflowId, samples);
          return null;
        });
  }

  @Override
  @Deprecated
  public void recordEvalResults(
      String workflowId, String phase, CheckpointRef checkpoint, EvalReport report) {
    // the evaluation activity wrote these rows already: eval_results has one writer
  }

  @Override
  public void recordRunFinished(RunSummary summary, long finishedAtMillis) {
    ActivityFailures.run(
        () -> {
          long samples = 0;
          if (summary.pretrain() != null) {
            samples += summary.pretrain().samplesSeen();
          }
          if (summary.tuning() != null) {
            samples += summary.tuning().samplesSeen();
          }
          store.finishRun(
              summary.workflowId(),
              summary.status().name(),
              summary.status() == RunStatus.FINISHED ? null : summary.message(),
              summary.zeroShotTop1(),
              samples);
          return null;
        });
  }

  @Override
  public void recordStudy(String studyId, String workflowId, StudySpec spec, RunStatus status) {
    ActivityFailures.run(
        () -> {
          studies.upsertStudy(
              new StudyStore.StudyRow(
                  studyId,
                  studyId,
                  workflowId,
                  spec.budget() == null ? null : spec.budget().name().toLowerCase(),
                  JSON.writeValueAsString(spec)));
          studies.setStudyStatus(studyId, status.name());
          return null;
        });
  }

  @Override
  public void recordStudyRun(String studyId, StudyRunResult run) {
    ActivityFailures.run(
        () -> {
          studies.upsertStudyRun(
              new StudyStore.StudyRunRow(
                  studyId,
                  run.workflowId(),
                  run.status().name(),
                  run.modelPreset(),
                  run.dataSamples(),
                  run.scheduleSamples(),
                  run.maskRatio(),
                  run.batchSize(),
                  run.zeroShotTop1(),
                  run.samplesSeen(),
                  run.wallSeconds(),
                  run.message()));
          return null;
        });
  }
}
