package io.flipflow.workflows.pipeline;

import io.flipflow.workflows.FailureTypes;
import io.flipflow.workflows.Failures;
import io.flipflow.workflows.SearchAttributeKeys;
import io.flipflow.workflows.activities.EvaluationActivities;
import io.flipflow.workflows.activities.RecordActivities;
import io.flipflow.workflows.activities.SpecActivities;
import io.flipflow.workflows.plan.PresetFacts;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.result.Progress;
import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.result.Stage;
import io.flipflow.workflows.result.StageRecord;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.TrainResult;
import io.flipflow.workflows.spec.RunIdentity;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.activity.LocalActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.common.SearchAttributeUpdate;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.CanceledFailure;
import io.temporal.workflow.CancellationScope;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;

/**
 * Deterministic pipeline code: all work is in activities. The stages run inside one cancellation
 * scope that {@link #cancel} cancels; recording always runs in detached scopes so that a cancelled
 * or failing run still writes its outcome.
 */
public class FlipPipelineWorkflowImpl implements FlipPipelineWorkflow {
  private static final Logger log = Workflow.getLogger(FlipPipelineWorkflowImpl.class);

  private final SpecActivities specChecks =
      Workflow.newLocalActivityStub(
          SpecActivities.class,
          LocalActivityOptions.newBuilder()
              .setStartToCloseTimeout(Duration.ofSeconds(30))
              .setRetryOptions(
                  RetryOptions.newBuilder()
                      .setMaximumAttempts(5)
                      .setDoNotRetry(FailureTypes.NON_RETRYABLE.toArray(new String[0]))
                      .build())
              .build());
  private final PipelineStubs stubs = PipelineStubs.create();
  private final RecordActivities record = stubs.record();

  /** Narrow stage requests, the preset's image size as default, one writer of eval_results. */
  static final String STAGE_REQUESTS = "stage-requests";

  /** A run's id is claimed with its spec's fingerprint before anything is recorded. */
  static final String RUN_IDENTITY = "run-identity";

  /** The longest cancel reason kept (the record and the failure message carry it). */
  static final int MAX_REASON_CHARS = 1000;

  private Progress progress = Progress.at(Stage.STARTING);
  private StageCalls calls;
  private CancellationScope stagesScope;
  private boolean cancelRequested;
  private String cancelReason;

  private String workflowId;
  private String temporalRunId;
  private long startedAtMillis;
  // What the stages produced so far; the summary reports whatever was reached.
  private TrainResult pretrain;
  private EvalReport pretrainedEval;
  private TrainResult tuning;
  private EvalReport tunedEval;

  @Override
  public RunSummary run(RunSpec requested) {
    failIfAny(requested == null ? List.of("spec: is missing") : requested.validate());
    workflowId = Workflow.getInfo().getWorkflowId();
    RunSpec spec = checkAgainstPreset(requested);
    temporalRunId = Workflow.getInfo().getRunId();
    if (Workflow.getVersion(RUN_IDENTITY, Workflow.DEFAULT_VERSION, 1) == 1) {
      String idProblem = RunSpec.idProblem(workflowId, RunSpec.MAX_NAME_LENGTH);
      if (idProblem != null) {
        failIfAny(List.of("workflow id: " + idProblem));
      }
      claim(spec);
    }
    startedAtMillis = Workflow.currentTimeMillis();
    List<SearchAttributeUpdate<?>> attributes = new ArrayList<>();
    if (spec.studyId() != null) {
      attributes.add(SearchAttributeKeys.STUDY.valueSet(spec.studyId()));
    }
    attributes.add(SearchAttributeKeys.MODEL.valueSet(spec.modelPreset()));
    attributes.add(SearchAttributeKeys.MASK_RATIO.valueSet(spec.maskRatio()));
    attributes.add(SearchAttributeKeys.STAGE.valueSet(Stage.STARTING.name()));
    Workflow.upsertTypedSearchAttributes(attributes.toArray(new SearchAttributeUpdate<?>[0]));
    recordDetached(() -> record.recordRunStarted(workflowId, temporalRunId, spec, startedAtMillis));

    RuntimeException failure = null;
    stagesScope = Workflow.newCancellationScope(() -> runStages(spec));
    try {
      stagesScope.run();
    } catch (RuntimeException e) {
      if (!Failures.isCancellation(e)) {
        failure = e;
      }
    }
    boolean cancelledByTemporal = CancellationScope.current().isCancelRequested();
    RunStatus status;
    String message = null;
    if (failure != null) {
      status = RunStatus.FAILED;
      message = Failures.message(failure);
    } else if (cancelRequested || cancelledByTemporal) {
      status = RunStatus.CANCELLED;
      message = cancelReason != null ? cancelReason : "cancelled";
    } else {
      status = RunStatus.FINISHED;
    }
    Stage end =
        switch (status) {
          case FAILED -> Stage.FAILED;
          case CANCELLED -> Stage.CANCELLED;
          default -> Stage.FINISHED;
        };
    progress = progress.withStage(end);
    Workflow.upsertTypedSearchAttributes(SearchAttributeKeys.STAGE.valueSet(end.name()));
    RunSummary summary =
        new RunSummary(
            workflowId,
            spec.name(),
            spec.studyId(),
            status,
            pretrain,
            pretrainedEval,
            tuning,
            tunedEval,
            headlineTop1(),
            (Workflow.currentTimeMillis() - startedAtMillis) / 1000.0,
            message);
    recordDetached(() -> record.recordRunFinished(summary, Workflow.currentTimeMillis()));
    log.info("run {} ended {}: {}", workflowId, status, message);
    if (failure != null) {
      throw ApplicationFailure.newNonRetryableFailureWithCause(
          "run " + spec.name() + " failed: " + Failures.message(failure),
          FailureTypes.STAGE_FAILED,
          failure);
    }
    if (cancelledByTemporal) {
      throw new CanceledFailure(message);
    }
    return summary;
  }

  private void runStages(RunSpec spec) {
    if (stopping()) {
      return; // cancelled before the first stage started
    }
    StagedDataset staged = runStage(Stage.STAGE_DATA, () -> calls.stage(spec), r -> null);
    recordDetached(() -> calls.recordStaged(spec, staged));
    if (stopping()) {
      return;
    }
    pretrain = runStage(Stage.PRETRAIN, () -> calls.pretrain(spec, staged), r -> r);
    showTrainResult(pretrain);
    if (stopping()) {
      return;
    }
    CheckpointRef pretrained = pretrain.checkpoint();
    pretrainedEval = evaluate(spec, staged, pretrained, Stage.EVAL_PRETRAINED);
    if (stopping() || !spec.unmaskedTuning().enabled()) {
      return;
    }
    tuning = runStage(Stage.UNMASKED_TUNE, () -> calls.tune(spec, staged, pretrained), r -> r);
    showTrainResult(tuning);
    if (stopping()) {
      return;
    }
    tunedEval = evaluate(spec, staged, tuning.checkpoint(), Stage.EVAL_TUNED);
  }

  private EvalReport evaluate(
      RunSpec spec, StagedDataset staged, CheckpointRef checkpoint, Stage stage) {
    String phase =
        stage == Stage.EVAL_PRETRAINED
            ? EvaluationActivities.PRETRAINED
            : EvaluationActivities.TUNED;
    EvalReport report =
        runStage(stage, () -> calls.evaluate(spec, staged, checkpoint, phase), r -> null);
    recordDetached(() -> calls.recordEvaluated(phase, checkpoint, report));
    Double top1 = report.headlineTop1();
    if (top1 != null) {
      Workflow.upsertTypedSearchAttributes(SearchAttributeKeys.TOP1.valueSet(top1));
    }
    return report;
  }

  /**
   * Refuses a spec that does not fit its preset, picks the calls of this workflow's version, and
   * returns the spec with the preset's image size where it gave none.
   */
  private RunSpec checkAgainstPreset(RunSpec spec) {
    if (Workflow.getVersion(STAGE_REQUESTS, Workflow.DEFAULT_VERSION, 1) == 1) {
      PresetFacts preset = specChecks.presetFacts(spec);
      failIfAny(preset.problems());
      calls = new PlannedStageCalls(stubs, workflowId, preset);
      return spec.imageSize() == null ? spec.withImageSize(preset.imageSize()) : spec;
    }
    checkAgainstPresetAsBefore(spec);
    calls = new LegacyStageCalls(stubs, workflowId);
    return spec;
  }

  /**
   * Claims the id for this spec; a refusal fails the run before anything is recorded, so the
   * existing run's rows stay as they are.
   */
  private void claim(RunSpec spec) {
    try {
      record.claimRun(
          new RunIdentity(workflowId, temporalRunId, spec.fingerprint(), spec.resumeOnly()), spec);
    } catch (ActivityFailure e) {
      if (e.getCause() instanceof ApplicationFailure refused) {
        throw ApplicationFailure.newNonRetryableFailure(
            refused.getOriginalMessage(), FailureTypes.BAD_INPUT);
      }
      throw e;
    }
  }

  /** Pipelines before {@link #STAGE_REQUESTS}: the list of problems, behind its own version. */
  @SuppressWarnings("deprecation")
  private void checkAgainstPresetAsBefore(RunSpec spec) {
    // added after the first histories were recorded: old runs replay without the check
    if (Workflow.getVersion("check-spec-against-preset", Workflow.DEFAULT_VERSION, 1) == 1) {
      failIfAny(specChecks.checkAgainstPreset(spec));
    }
  }

  private static void failIfAny(List<String> problems) {
    if (!problems.isEmpty()) {
      throw ApplicationFailure.newNonRetryableFailure(
          "invalid run spec: " + String.join("; ", problems), FailureTypes.BAD_INPUT);
    }
  }

  /**
   * Runs one stage and writes its row: RUNNING at the start, then FINISHED, FAILED or CANCELLED. A
   * training stage that returns after a cancel request is recorded CANCELLED with its samples.
   */
  private <T> T runStage(Stage stage, Supplier<T> work, Function<T, TrainResult> asTraining) {
    progress = Progress.at(stage);
    Workflow.upsertTypedSearchAttributes(SearchAttributeKeys.STAGE.valueSet(stage.name()));
    long started = Workflow.currentTimeMillis();
    recordDetached(
        () ->
            record.recordStage(
                new StageRecord(
                    workflowId,
                    temporalRunId,
                    stage,
                    RunStatus.RUNNING,
                    started,
                    null,
                    null,
                    null,
                    null)));
    T result;
    try {
      result = work.get();
    } catch (RuntimeException e) {
      boolean cancelled = Failures.isCancellation(e);
      String message = cancelled ? cancelReason : e.getMessage();
      recordDetached(
          () ->
              record.recordStage(
                  new StageRecord(
                      workflowId,
                      temporalRunId,
                      stage,
                      cancelled ? RunStatus.CANCELLED : RunStatus.FAILED,
                      started,
                      Workflow.currentTimeMillis(),
                      null,
                      null,
                      message)));
      if (cancelled) {
        throw e;
      }
      throw ApplicationFailure.newNonRetryableFailureWithCause(
          "stage " + stage + " failed: " + Failures.message(e), FailureTypes.STAGE_FAILED, e);
    }
    TrainResult trained = asTraining.apply(result);
    boolean cancelled = stopping();
    recordDetached(
        () ->
            record.recordStage(
                new StageRecord(
                    workflowId,
                    temporalRunId,
                    stage,
                    cancelled ? RunStatus.CANCELLED : RunStatus.FINISHED,
                    started,
                    Workflow.currentTimeMillis(),
                    trained == null ? null : trained.samplesSeen(),
                    trained == null ? null : trained.samplesPerSecond(),
                    cancelled ? cancelReason : null)));
    return result;
  }

  private void showTrainResult(TrainResult r) {
    progress =
        new Progress(
            progress.stage(), r.steps(), r.samplesSeen(), r.finalLoss(), r.samplesPerSecond(), 0L);
  }

  private Double headlineTop1() {
    if (tunedEval != null && tunedEval.headlineTop1() != null) {
      return tunedEval.headlineTop1();
    }
    return pretrainedEval == null ? null : pretrainedEval.headlineTop1();
  }

  private boolean stopping() {
    return cancelRequested || (stagesScope != null && stagesScope.isCancelRequested());
  }

  /** Recording must happen even in a cancelled scope: a detached scope is not cancelled. */
  private static void recordDetached(Runnable write) {
    Workflow.newDetachedCancellationScope(write).run();
  }

  @Override
  public Progress progress() {
    return progress;
  }

  @Override
  public void cancel(String reason) {
    if (cancelRequested) {
      return;
    }
    cancelRequested = true;
    cancelReason = reason == null || reason.isBlank() ? "cancelled" : printable(reason);
    if (stagesScope != null) {
      stagesScope.cancel(cancelReason);
    }
  }

  /** A reason as the record can hold it: no control characters (Postgres refuses NUL), bounded. */
  static String printable(String reason) {
    String clean = reason.replaceAll("\\p{Cntrl}", " ").strip();
    if (clean.isEmpty()) {
      return "cancelled";
    }
    return clean.length() <= MAX_REASON_CHARS
        ? clean
        : clean.substring(0, MAX_REASON_CHARS) + "...";
  }

  @Override
  public void reportProgress(Progress report) {
    if (report != null && report.stage() == progress.stage()) {
      progress = report;
    }
  }
}
