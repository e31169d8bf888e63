package io.flipflow.activities.record;

import com.fasterxml.jackson.databind.JsonNode;
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
import io.flipflow.workflows.spec.RunIdentity;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.StudySpec;
import io.temporal.failure.ApplicationFailure;
import java.util.Optional;

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
  public void claimRun(RunIdentity identity, RunSpec spec) {
    ActivityFailures.run(
        () -> {
          String refusal = refusal(identity, spec);
          if (refusal != null) {
            throw ApplicationFailure.newNonRetryableFailure(refusal, ActivityFailures.BAD_INPUT);
          }
          return null;
        });
  }

  /** Why this execution may not be the run its id names; null when it may. */
  private String refusal(RunIdentity identity, RunSpec spec) throws Exception {
    String id = identity.workflowId();
    if (spec.studyId() != null && !studies.exists(spec.studyId())) {
      return "studyId: study '"
          + spec.studyId()
          + "' does not exist; a run names a study that recorded it, leave it out for a lone run";
    }
    Optional<RunStore.ExistingRun> found = store.find(id);
    if (found.isEmpty()) {
      return identity.resume()
          ? "run '" + id + "' does not exist, so there is nothing to resume; leave out resume"
          : null;
    }
    RunStore.ExistingRun existing = found.get();
    if (identity.temporalRunId().equals(existing.temporalRunId())) {
      return null; // this execution's own claim, retried
    }
    boolean sameSpec =
        existing.specFingerprint() != null
            ? existing.specFingerprint().equals(identity.specFingerprint())
            : differences(existing.specJson(), spec).isEmpty();
    if (sameSpec) {
      return null; // the same work: it continues from its checkpoints
    }
    return "run '"
        + id
        + "' already exists ("
        + existing.status()
        + ", started "
        + existing.startedAt()
        + ") with another spec: "
        + String.join(", ", differences(existing.specJson(), spec))
        + ". Give this spec a new name to start a new run, or run the spec that run was"
        + " started with (with resume: true, or flipflow run --resume) to continue it";
  }

  /** The top-level fields (and nested ones, dotted) in which two specs differ, old -> new. */
  static java.util.List<String> differences(String existingJson, RunSpec spec) throws Exception {
    JsonNode old = JSON.readTree(existingJson == null ? "{}" : existingJson);
    JsonNode now = JSON.valueToTree(spec);
    java.util.List<String> out = new java.util.ArrayList<>();
    diff("", old, now, out);
    out.removeIf(d -> d.startsWith("name ") || d.startsWith("device ") || d.startsWith("resume "));
    return out;
  }

  private static void diff(String path, JsonNode a, JsonNode b, java.util.List<String> out) {
    java.util.Set<String> fields = new java.util.TreeSet<>();
    a.fieldNames().forEachRemaining(fields::add);
    b.fieldNames().forEachRemaining(fields::add);
    for (String f : fields) {
      JsonNode x = a.path(f);
      JsonNode y = b.path(f);
      if (x.isObject() && y.isObject()) {
        diff(path + f + ".", x, y, out);
      } else if (!(x.isNumber() && y.isNumber() && x.asDouble() == y.asDouble())
          && !nullish(x).equals(nullish(y))) {
        // numbers compare by value: Postgres's JSONB writes 1.0E-4 back as 0.00010
        out.add(path + f + " " + nullish(x) + " -> " + nullish(y));
      }
    }
  }

  private static String nullish(JsonNode n) {
    return n.isMissingNode() || n.isNull() ? "null" : n.toString();
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
                  JSON.writeValueAsString(spec),
                  spec.fingerprint()));
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
