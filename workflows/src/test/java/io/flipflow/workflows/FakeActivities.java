package io.flipflow.workflows;

import io.flipflow.workflows.activities.DataActivities;
import io.flipflow.workflows.activities.EvaluationActivities;
import io.flipflow.workflows.activities.ProgressSignals;
import io.flipflow.workflows.activities.RecordActivities;
import io.flipflow.workflows.activities.SpecActivities;
import io.flipflow.workflows.activities.TrainingActivities;
import io.flipflow.workflows.pipeline.FlipPipelineWorkflow;
import io.flipflow.workflows.plan.EvaluationRequest;
import io.flipflow.workflows.plan.PresetFacts;
import io.flipflow.workflows.plan.RankAssignment;
import io.flipflow.workflows.plan.RunPlans;
import io.flipflow.workflows.plan.ShardGroup;
import io.flipflow.workflows.plan.StagingPlan;
import io.flipflow.workflows.plan.StagingRequest;
import io.flipflow.workflows.plan.TrainingPlan;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalMetric;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.result.Progress;
import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.result.Stage;
import io.flipflow.workflows.result.StageRecord;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.StagedGroup;
import io.flipflow.workflows.result.StudyRunResult;
import io.flipflow.workflows.result.TrainResult;
import io.flipflow.workflows.result.TrainingHeartbeat;
import io.flipflow.workflows.spec.RunIdentity;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.StudySpec;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.client.ActivityCompletionException;
import io.temporal.client.WorkflowClient;
import io.temporal.failure.ApplicationFailure;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Stand-ins for the real activities: they return plausible small results at once and log every
 * call, so the tests can check what the workflows asked for. Knobs make them fail, block until
 * cancelled, or overlap.
 */
@SuppressWarnings("deprecation")
public final class FakeActivities
    implements DataActivities,
        TrainingActivities,
        EvaluationActivities,
        RecordActivities,
        SpecActivities {

  /** Presets the fake workers know, as the real ones know config/models/. */
  @Override
  public PresetFacts presetFacts(RunSpec spec) {
    return spec.modelPreset().startsWith("tiny")
        ? new PresetFacts(List.of(), 64, 32)
        : new PresetFacts(
            List.of("modelPreset: unknown model preset '" + spec.modelPreset() + "'"), null, null);
  }

  @Override
  public List<String> checkAgainstPreset(RunSpec spec) {
    return presetFacts(spec).problems();
  }

  public final List<String> calls = new CopyOnWriteArrayList<>();
  public final List<StageRecord> stages = new CopyOnWriteArrayList<>();
  public final List<RunSummary> finishedRuns = new CopyOnWriteArrayList<>();
  public final List<StudyRunResult> studyRuns = new CopyOnWriteArrayList<>();
  public final List<RunStatus> studyStatuses = new CopyOnWriteArrayList<>();
  public final AtomicInteger stageDataAttempts = new AtomicInteger();

  /** Staging fails with bad input for runs (workflow ids) that match. */
  public volatile Predicate<String> badData = id -> false;

  /**
   * When positive, pretraining simulates this many milliseconds of training in one-second steps on
   * a virtual clock, signalling its progress when {@link ProgressSignals} says so, as the real
   * activity does; the signals are real ones, sent to the test server.
   */
  public volatile long simulatedTrainingMillis;

  /** Signals the simulation sent. */
  public final AtomicInteger simulatedSignals = new AtomicInteger();

  /** Pretraining heartbeats until cancelled instead of returning at once. */
  public volatile boolean pretrainUntilCancelled;

  public final CountDownLatch pretrainStarted = new CountDownLatch(1);

  /** Lets a training activity signal progress to its workflow, as the real one will. */
  public volatile WorkflowClient client;

  /** Each run sleeps this long in staging, so that children of a study overlap. */
  public volatile long stagingMillis;

  private final AtomicInteger activeRuns = new AtomicInteger();
  public final AtomicInteger maxActiveRuns = new AtomicInteger();

  /** Shards the fake planner finds in any data set, and how it groups them. */
  public volatile int stagingShards = 4;

  public volatile int shardsPerGroup = 16;
  public volatile int groupsInFlight = 64;

  /** Every group staging attempt, in the order they started. */
  public final List<ShardGroup> groupAttempts = new CopyOnWriteArrayList<>();

  /** A group for which this says a message fails with it: transient, or bad input if so marked. */
  public volatile java.util.function.Function<ShardGroup, RuntimeException> groupFailure =
      g -> null;

  public final AtomicInteger publishes = new AtomicInteger();

  /** The planner finds the set published already: nothing to stage. */
  public volatile boolean alreadyStaged;

  private final java.util.Map<String, StagingRequest> stagingRequests =
      new java.util.concurrent.ConcurrentHashMap<>();

  @Override
  public StagingPlan planStaging(StagingRequest request) {
    String run = runOf(workflowId());
    calls.add("stageData " + run);
    stageDataAttempts.incrementAndGet();
    maxActiveRuns.accumulateAndGet(activeRuns.incrementAndGet(), Math::max);
    if (badData.test(run)) {
      throw new IllegalArgumentException("no shard matches " + request.dataUri());
    }
    stagingRequests.put(run, request);
    StagedDataset published = alreadyStaged ? staged(request) : null;
    return new StagingPlan(
        request.dataUri(),
        "s3://flipflow/staged/abc/plan.json",
        stagingShards,
        shardsPerGroup,
        groupsInFlight,
        published);
  }

  @Override
  public StagedGroup stageGroup(ShardGroup group) {
    groupAttempts.add(group);
    RuntimeException failure = groupFailure.apply(group);
    if (failure != null) {
      throw failure;
    }
    sleep(stagingMillis);
    long samples = 250L * (group.endShard() - group.firstShard());
    return new StagedGroup(group.firstShard(), group.endShard(), samples, 0, 0, 0);
  }

  @Override
  public StagedDataset publishStaging(StagingPlan plan) {
    publishes.incrementAndGet();
    StagingRequest request = stagingRequests.get(runOf(workflowId()));
    return staged(request);
  }

  /** The staged set every fake staging produces: 1,000 samples at the request's size. */
  private static StagedDataset staged(StagingRequest request) {
    return new StagedDataset(
        "s3://flipflow/staged/abc/manifest.json",
        1000,
        request.resolution(),
        request.contextLength(),
        512,
        "s3://flipflow/emoji/tokenizer.json");
  }

  /** The run a staging child works for: its parent pipeline's id. */
  private static String runOf(String workflowId) {
    return workflowId.endsWith("-staging")
        ? workflowId.substring(0, workflowId.length() - "-staging".length())
        : workflowId;
  }

  @Override
  public StagedDataset stage(StagingRequest request) {
    String run = workflowId();
    calls.add("stageData " + run);
    stageDataAttempts.incrementAndGet();
    maxActiveRuns.accumulateAndGet(activeRuns.incrementAndGet(), Math::max);
    if (badData.test(run)) {
      throw new IllegalArgumentException("no shard matches " + request.dataUri());
    }
    sleep(stagingMillis);
    return staged(request);
  }

  @Override
  public StagedDataset stageData(RunSpec spec) {
    return stage(new StagingRequest(spec.dataUri(), spec.imageSize(), 32));
  }

  @Override
  public TrainResult train(TrainingPlan plan) {
    return plan.stage() == Stage.PRETRAIN ? pretrain(plan) : tune(plan);
  }

  @Override
  public TrainResult pretrain(RunSpec spec, StagedDataset data, String workflowId) {
    return pretrain(RunPlans.pretraining(spec, data));
  }

  @Override
  public TrainResult unmaskedTune(RunSpec spec, StagedDataset data, CheckpointRef from) {
    return tune(RunPlans.tuning(spec, data, from));
  }

  /** The failure a rank of a gang meets (null: it trains); the other ranks then await cancel. */
  public volatile java.util.function.Function<RankAssignment, RuntimeException> rankFailure =
      r -> null;

  /** Ranks train (heartbeating) until cancelled, then stop with a checkpoint as real ones do. */
  public volatile boolean ranksUntilCancelled;

  public final CountDownLatch ranksStarted = new CountDownLatch(2);

  private final java.util.Map<Integer, CountDownLatch> gangArrivals =
      new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * Every rank of a gang waits until all of them have started, as a real rendezvous does (so ranks
   * started one after another would never meet); rank 0 returns the checkpoint.
   */
  @Override
  public TrainResult trainRank(TrainingPlan plan, RankAssignment rank) {
    String workflowId = workflowId();
    calls.add(
        "trainRank "
            + plan.stageName()
            + " "
            + rank.rank()
            + "/"
            + rank.worldSize()
            + " gang "
            + rank.gang());
    CountDownLatch arrived =
        gangArrivals.computeIfAbsent(
            java.util.Objects.hash(workflowId, plan.stageName(), rank.gang()),
            k -> new CountDownLatch(rank.worldSize()));
    arrived.countDown();
    try {
      if (!arrived.await(10, java.util.concurrent.TimeUnit.SECONDS)) {
        throw new IllegalStateException("rank " + rank.rank() + ": the gang never met");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    RuntimeException failure = rankFailure.apply(rank);
    if (failure != null) {
      throw failure;
    }
    boolean gangFails = false;
    for (int r = 0; r < rank.worldSize(); r++) {
      gangFails |= rankFailure.apply(new RankAssignment(r, rank.worldSize(), rank.gang())) != null;
    }
    if (gangFails) {
      ActivityExecutionContext context = Activity.getExecutionContext();
      for (int i = 0; i < 500; i++) {
        try {
          context.heartbeat(null);
        } catch (ActivityCompletionException cancelled) {
          calls.add("trainRank cancelled " + rank.rank() + " gang " + rank.gang());
          throw cancelled;
        }
        sleep(20);
      }
      throw new IllegalStateException("rank " + rank.rank() + " was never cancelled");
    }
    String checkpoint =
        rank.isLeader() ? "s3://flipflow/ckpt/" + workflowId + "/" + plan.stageName() : null;
    if (ranksUntilCancelled) {
      ActivityExecutionContext context = Activity.getExecutionContext();
      ranksStarted.countDown();
      for (long step = 1; ; step++) {
        try {
          context.heartbeat(null);
        } catch (ActivityCompletionException cancelled) {
          calls.add("trainRank stopped " + rank.rank() + " gang " + rank.gang());
          return trained(checkpoint, step, plan.config().batchSize(), true);
        }
        sleep(20);
      }
    }
    return trained(checkpoint, 10, plan.config().batchSize(), false);
  }

  private TrainResult pretrain(TrainingPlan plan) {
    String workflowId = workflowId();
    int batchSize = plan.config().batchSize();
    calls.add("pretrain " + workflowId + " mask=" + plan.config().maskRatio());
    if (simulatedTrainingMillis > 0) {
      return simulateTraining(workflowId, batchSize);
    }
    if (!pretrainUntilCancelled) {
      return trained("s3://flipflow/ckpt/" + workflowId + "/pretrain", 10, batchSize, false);
    }
    ActivityExecutionContext context = Activity.getExecutionContext();
    pretrainStarted.countDown();
    long step = 0;
    while (true) {
      step++;
      Progress progress = new Progress(Stage.PRETRAIN, step, step * batchSize, 4.2, 100.0, 60L);
      if (step == 1 && client != null) {
        client.newWorkflowStub(FlipPipelineWorkflow.class, workflowId).reportProgress(progress);
      }
      try {
        context.heartbeat(new TrainingHeartbeat(progress, null));
      } catch (ActivityCompletionException cancelled) {
        // Real training: finish the step, write a checkpoint, return what was reached.
        calls.add("pretrain stopped at step " + step);
        return trained("s3://flipflow/ckpt/" + workflowId + "/step" + step, step, batchSize, true);
      }
      sleep(20);
    }
  }

  private TrainResult simulateTraining(String workflowId, int batchSize) {
    ProgressSignals signals = new ProgressSignals();
    FlipPipelineWorkflow run = client.newWorkflowStub(FlipPipelineWorkflow.class, workflowId);
    long steps = simulatedTrainingMillis / 1000;
    for (long step = 1; step <= steps; step++) {
      if (signals.due(step * 1000)) {
        run.reportProgress(
            new Progress(Stage.PRETRAIN, step, step * batchSize, 3.0, 100.0, steps - step));
        simulatedSignals.incrementAndGet();
      }
    }
    return trained("s3://flipflow/ckpt/" + workflowId + "/month", steps, batchSize, false);
  }

  private TrainResult tune(TrainingPlan plan) {
    calls.add("unmaskedTune " + workflowId() + " from=" + plan.initFrom().uri());
    return trained(plan.initFrom().uri() + "-tuned", 2, plan.config().batchSize(), false);
  }

  @Override
  public EvalReport evaluate(RunSpec spec, CheckpointRef checkpoint, String phase) {
    return evaluateCheckpoint(
        new EvaluationRequest(
            phase,
            checkpoint,
            spec.evalSetUris(),
            null,
            spec.modelPreset(),
            "cpu",
            0,
            null,
            spec.maskRatio()));
  }

  @Override
  public EvalReport evaluateCheckpoint(EvaluationRequest request) {
    String phase = request.phase();
    CheckpointRef checkpoint = request.checkpoint();
    evaluationRequests.add(request);
    calls.add("evaluate " + workflowId() + " " + phase);
    double top1 = EvaluationActivities.TUNED.equals(phase) ? 0.5 : 0.4;
    return new EvalReport(
        List.of(
            new EvalMetric("zeroshot_classification", "emoji-subgroup", "seen", "acc1", 0.9),
            new EvalMetric("zeroshot_classification", "emoji-subgroup", "unseen", "acc1", top1)),
        checkpoint.uri() + "/eval-" + phase + ".json");
  }

  /** Every evaluation asked for, as it arrived. */
  public final List<EvaluationRequest> evaluationRequests = new CopyOnWriteArrayList<>();

  /** Claims of run ids that are refused (as a run of that id with another spec would be). */
  public volatile Predicate<RunIdentity> refuseClaim = identity -> false;

  @Override
  public void claimRun(RunIdentity identity, RunSpec spec) {
    calls.add("claimRun " + identity.workflowId());
    if (refuseClaim.test(identity)) {
      throw ApplicationFailure.newNonRetryableFailure(
          "run '" + identity.workflowId() + "' already exists with another spec: maskRatio",
          FailureTypes.BAD_INPUT);
    }
  }

  @Override
  public void recordRunStarted(
      String workflowId, String runId, RunSpec spec, long startedAtMillis) {
    calls.add("recordRunStarted " + workflowId);
  }

  @Override
  public void recordStage(StageRecord stage) {
    stages.add(stage);
  }

  @Override
  public void recordDataSamples(String workflowId, long samples) {
    calls.add("recordDataSamples " + workflowId + " " + samples);
  }

  @Override
  public void recordEvalResults(
      String workflowId, String phase, CheckpointRef checkpoint, EvalReport report) {
    calls.add("recordEvalResults " + workflowId + " " + phase);
  }

  @Override
  public void recordRunFinished(RunSummary summary, long finishedAtMillis) {
    activeRuns.decrementAndGet();
    finishedRuns.add(summary);
  }

  @Override
  public void recordStudy(String studyId, String workflowId, StudySpec spec, RunStatus status) {
    studyStatuses.add(status);
  }

  @Override
  public void recordStudyRun(String studyId, StudyRunResult run) {
    studyRuns.add(run);
  }

  private static String workflowId() {
    return Activity.getExecutionContext().getInfo().getWorkflowId();
  }

  public long count(String prefix) {
    return calls.stream().filter(c -> c.startsWith(prefix)).count();
  }

  private static TrainResult trained(String uri, long steps, int batch, boolean stoppedEarly) {
    long samples = steps * batch;
    return new TrainResult(
        new CheckpointRef(uri, steps, samples),
        steps,
        samples,
        3.5,
        12.0,
        samples / 12.0,
        stoppedEarly);
  }

  private static void sleep(long millis) {
    if (millis <= 0) {
      return;
    }
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
