package io.flipflow.activities.train;

import ai.djl.Device;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.StagedDataReader;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.support.ActivityFailures;
import io.flipflow.activities.support.Heartbeater;
import io.flipflow.db.Database;
import io.flipflow.db.TrainingStore;
import io.flipflow.workflows.activities.TrainingActivities;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.Progress;
import io.flipflow.workflows.result.Stage;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.TrainingHeartbeat;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.failure.ApplicationFailure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Masked pretraining and unmasked tuning on the gpu queue: one loop ({@link ClipTrainer}), two
 * schedules. Around the loop: resume from the newest checkpoint a retry can find, checkpoints to S3
 * recorded only once complete there, metrics to Postgres in batches, heartbeats from their own
 * thread, and a stop at the next step boundary when Temporal cancels or the worker shuts down.
 */
public final class TrainingActivitiesImpl implements TrainingActivities {
  private static final Logger log = LoggerFactory.getLogger(TrainingActivitiesImpl.class);
  public static final String PRETRAIN = "pretrain";
  public static final String UNMASKED_TUNE = "unmasked_tune";

  /** Failure type of a diverged run (NaN or infinite loss): not retried, names the checkpoint. */
  public static final String DIVERGED = "TrainingDiverged";

  private static final int METRIC_FLUSH_ROWS = 20;

  /** Progress signals: every 10 s at first, then a tenth of the elapsed time, at most a minute. */
  private static final long PROGRESS_SIGNAL_MIN_MILLIS = 10_000;

  private static final long PROGRESS_SIGNAL_MAX_MILLIS = 60_000;
  private static final int CALIBRATION_STEPS = 5;

  private final S3Store store;
  private final S3Uri checkpointRoot;
  private final Path workDir;
  private final Database db;
  private final DevicePool devices;
  private final Set<Heartbeater> running = ConcurrentHashMap.newKeySet();

  /**
   * @param checkpointRoot where checkpoints go, e.g. {@code s3://flipflow/checkpoints/}
   * @param workDir local scratch: checkpoints being written, the staged-data cache
   */
  public TrainingActivitiesImpl(S3Store store, S3Uri checkpointRoot, Path workDir, Database db) {
    this(store, checkpointRoot, workDir, db, DevicePool.cpu());
  }

  /**
   * @param devices the worker's devices; each stage leases what its spec's {@code device} asks for
   *     for its whole attempt (shared with evaluation on the same worker)
   */
  public TrainingActivitiesImpl(
      S3Store store, S3Uri checkpointRoot, Path workDir, Database db, DevicePool devices) {
    this.store = store;
    this.checkpointRoot = checkpointRoot;
    this.workDir = workDir;
    this.db = db;
    this.devices = devices;
  }

  /**
   * For a graceful worker shutdown (SIGTERM): every running stage stops at its next step with a
   * checkpoint and fails retryably, so its work continues on another worker from there.
   */
  public void stopAllForShutdown() {
    running.forEach(h -> h.requestStop(Heartbeater.StopReason.WORKER_SHUTDOWN));
  }

  @Override
  public io.flipflow.workflows.result.TrainResult pretrain(
      RunSpec spec, StagedDataset data, String workflowId) {
    return train(spec, data, workflowId, PRETRAIN, null);
  }

  @Override
  public io.flipflow.workflows.result.TrainResult unmaskedTune(
      RunSpec spec, StagedDataset data, CheckpointRef from) {
    String workflowId = Activity.getExecutionContext().getInfo().getWorkflowId();
    return train(spec, data, workflowId, UNMASKED_TUNE, from);
  }

  private io.flipflow.workflows.result.TrainResult train(
      RunSpec spec, StagedDataset data, String runId, String stage, CheckpointRef from) {
    ActivityExecutionContext context = Activity.getExecutionContext();
    Stage stageEnum = stage.equals(PRETRAIN) ? Stage.PRETRAIN : Stage.UNMASKED_TUNE;
    Path dir =
        workDir.resolve(runId).resolve(stage).resolve("attempt-" + context.getInfo().getAttempt());
    try (Heartbeater heartbeat =
        Heartbeater.start(context, new TrainingHeartbeat(Progress.at(stageEnum), null))) {
      running.add(heartbeat);
      try {
        return ActivityFailures.run(
            () -> {
              // returned when the attempt ends, however it ends (failure, cancel, shutdown)
              try (DevicePool.Lease lease = devices.lease(spec.device())) {
                return new Run(spec, data, runId, stage, stageEnum, from, dir, heartbeat, lease)
                    .execute();
              }
            });
      } finally {
        running.remove(heartbeat);
        deleteQuietly(dir);
      }
    }
  }

  /** One attempt of one stage. */
  private final class Run {
    final RunSpec spec;
    final StagedDataset data;
    final String runId;
    final String stage;
    final Stage stageEnum;
    final CheckpointRef from;
    final Path dir;
    final Heartbeater heartbeat;
    final List<Device> runDevices;
    final ActivityExecutionContext context = Activity.getExecutionContext();
    final CheckpointStore checkpoints = new CheckpointStore(store);
    final AtomicReference<CheckpointRef> lastUploaded = new AtomicReference<>();
    final List<TrainingStore.MetricRow> pendingMetrics = new ArrayList<>();
    long startNanos;
    long lastSignalMillis;
    long totalSteps;

    Run(
        RunSpec spec,
        StagedDataset data,
        String runId,
        String stage,
        Stage stageEnum,
        CheckpointRef from,
        Path dir,
        Heartbeater heartbeat,
        DevicePool.Lease lease) {
      this.spec = spec;
      this.data = data;
      this.runId = runId;
      this.stage = stage;
      this.stageEnum = stageEnum;
      this.from = from;
      this.dir = dir;
      this.heartbeat = heartbeat;
      this.runDevices = lease.devices();
    }

    io.flipflow.workflows.result.TrainResult execute() throws Exception {
      ModelPreset preset = ModelPreset.load(spec.modelPreset());
      checkCompatible(spec, preset, data);
      log.info("{} {}: on {}", runId, stage, runDevices);
      Files.createDirectories(dir);
      try (ClipTrainer trainer = openTrainer(preset);
          StagedDataReader reader =
              StagedDataReader.open(
                  store,
                  S3Uri.parse(data.manifestUri()),
                  workDir.resolve("staged-cache"),
                  trainer.config().batchSize(),
                  trainer.config().seed(),
                  sampleLimit(spec))) {
        totalSteps = trainer.config().totalSteps();
        startNanos = System.nanoTime();
        Path localRoot = dir.resolve("checkpoints");
        TrainResult result;
        try {
          result =
              trainer.run(
                  new StagedBatchSource(reader),
                  localRoot,
                  this::onStep,
                  this::shouldStop,
                  this::onCheckpoint);
        } catch (TrainingDivergedException e) {
          flushMetrics();
          CheckpointRef good = lastUploaded.get();
          throw ApplicationFailure.newNonRetryableFailureWithCause(
              e.getMessage()
                  + "; last good checkpoint: "
                  + (good == null ? "none" : good.uri() + " (step " + good.step() + ")"),
              DIVERGED,
              e);
        }
        double wall = (System.nanoTime() - startNanos) / 1e9;
        CheckpointRef last = lastUploaded.get();
        if (result.checkpoint() != null && (last == null || last.step() != result.step())) {
          last = upload(result.checkpoint(), true);
        } else if (last != null) {
          markFinal(last);
        }
        flushMetrics();
        if (heartbeat.stopReason() == Heartbeater.StopReason.WORKER_SHUTDOWN) {
          throw ApplicationFailure.newFailure(
              "worker shutting down: "
                  + stage
                  + " stopped at step "
                  + result.step()
                  + " with checkpoint "
                  + (last == null ? "none" : last.uri())
                  + "; another worker resumes from it",
              "WorkerShutdown");
        }
        boolean cancelled = heartbeat.stopReason() == Heartbeater.StopReason.CANCELLED;
        log.info(
            "{} {} ended at step {}/{} (loss {}, {} s){}",
            runId,
            stage,
            result.step(),
            totalSteps,
            result.lastLoss(),
            String.format("%.1f", wall),
            cancelled ? ", stopped on request" : "");
        return new io.flipflow.workflows.result.TrainResult(
            last,
            result.step(),
            result.samplesSeen(),
            result.lastLoss(),
            wall,
            wall > 0 ? trainer.config().batchSize() * result.step() / wall : 0,
            cancelled);
      }
    }

    /** Resume if any checkpoint of this stage exists, else start from scratch (or from `from`). */
    ClipTrainer openTrainer(ModelPreset preset) throws Exception {
      Optional<CheckpointRef> newest = newestCheckpoint();
      if (newest.isPresent()) {
        CheckpointRef c = newest.get();
        log.info("{} {}: resuming from {} (step {})", runId, stage, c.uri(), c.step());
        lastUploaded.set(c);
        return ClipTrainer.resume(
            checkpoints.download(S3Uri.parse(c.uri()), dir.resolve("resume-" + c.step())),
            runDevices);
      }
      if (stage.equals(UNMASKED_TUNE)) {
        if (from == null || from.uri() == null) {
          throw new IllegalArgumentException("unmasked tuning needs the pretraining checkpoint");
        }
        Path weights = checkpoints.download(S3Uri.parse(from.uri()), dir.resolve("from"));
        return ClipTrainer.fromWeights(weights, tuningConfig(preset), runDevices);
      }
      TrainConfig config = pretrainingConfig(preset, stepsOf(spec), spec.maskRatio());
      if (spec.wallClockBudgetSeconds() != null) {
        config = fitToBudget(config, preset, spec.wallClockBudgetSeconds());
      }
      return ClipTrainer.create(config, preset, runDevices);
    }

    /** The newer of the last heartbeat's checkpoint and the newest recorded one. */
    Optional<CheckpointRef> newestCheckpoint() throws SQLException {
      Optional<CheckpointRef> fromHeartbeat =
          context
              .getHeartbeatDetails(TrainingHeartbeat.class)
              .map(TrainingHeartbeat::lastCheckpoint);
      Optional<CheckpointRef> fromDb =
          db.training()
              .newestCheckpoint(runId, stage)
              .map(r -> new CheckpointRef(r.uri(), r.step(), r.samplesSeen()));
      Optional<CheckpointRef> best = fromHeartbeat;
      if (fromDb.isPresent() && (best.isEmpty() || fromDb.get().step() > best.get().step())) {
        best = fromDb;
      }
      return best;
    }

    TrainConfig pretrainingConfig(ModelPreset preset, long steps, double maskRatio) {
      return new TrainConfig(
          preset.name(),
          maskRatio,
          spec.batchSize(),
          steps,
          spec.baseLr(),
          spec.warmupSamples() / spec.batchSize(),
          spec.weightDecay(),
          0.9,
          0.98,
          1e-6,
          1.0,
          spec.seed(),
          spec.checkpointIntervalSteps(),
          1,
          spec.precision());
    }

    TrainConfig tuningConfig(ModelPreset preset) {
      double fraction = spec.unmaskedTuning().sampleFraction();
      long steps =
          Math.max(1, Math.round(from.samplesSeen() * fraction / (double) spec.batchSize()));
      // unmasked tuning after the paper: mask 0, a fraction of the learning rate, its own seed
      TrainConfig pre = pretrainingConfig(preset, steps, 0.0);
      return pre.withSchedule(
              pre.baseLearningRate() * spec.unmaskedTuning().lrFactor(),
              Math.min(pre.warmupSteps(), steps / 10))
          .withSeed(pre.seed() + 1)
          .withIntervals(Math.max(1, Math.min(pre.checkpointEvery(), steps)), 1);
    }

    /**
     * An equal-wall-clock run: time a few steps on a throwaway copy, then fit the schedule (warmup
     * and cosine decay included) into the budget, so the run ends its decay instead of being cut
     * off mid-schedule. The steps stay capped by the spec's own schedule.
     */
    TrainConfig fitToBudget(TrainConfig config, ModelPreset preset, long budgetSeconds)
        throws Exception {
      TrainConfig probeConfig =
          config
              .withTotalSteps(CALIBRATION_STEPS)
              .withSchedule(config.baseLearningRate(), 0)
              .withIntervals(CALIBRATION_STEPS, 1);
      List<Double> millis = new ArrayList<>();
      try (ClipTrainer probe = ClipTrainer.create(probeConfig, preset, runDevices);
          StagedDataReader reader =
              StagedDataReader.open(
                  store,
                  S3Uri.parse(data.manifestUri()),
                  workDir.resolve("staged-cache"),
                  config.batchSize(),
                  config.seed(),
                  sampleLimit(spec))) {
        probe.run(
            new StagedBatchSource(reader),
            dir.resolve("calibration"),
            m -> millis.add(m.stepMillis()),
            heartbeat::stopRequested);
      } finally {
        deleteQuietly(dir.resolve("calibration"));
      }
      List<Double> steady = millis.subList(Math.min(2, millis.size() - 1), millis.size());
      double median = steady.stream().sorted().toList().get(steady.size() / 2);
      long fitted = Math.max(1, (long) (budgetSeconds * 1000.0 / median));
      long steps = Math.min(config.totalSteps(), fitted);
      log.info(
          "{} {}: {} ms/step at mask {} -> {} steps fit {} s",
          runId,
          stage,
          String.format("%.0f", median),
          config.maskRatio(),
          steps,
          budgetSeconds);
      return config
          .withTotalSteps(steps)
          .withSchedule(config.baseLearningRate(), Math.min(config.warmupSteps(), steps / 5))
          .withIntervals(
              Math.max(1, Math.min(config.checkpointEvery(), steps)), config.metricsEvery());
    }

    boolean shouldStop() {
      if (heartbeat.stopRequested()) {
        return true;
      }
      // a budgeted run whose steps were fitted ends by itself; this only guards a slow machine
      Long budget = spec.wallClockBudgetSeconds();
      return stage.equals(PRETRAIN)
          && budget != null
          && System.nanoTime() - startNanos > budget * 1_150_000_000L;
    }

    void onStep(StepListener.StepMetrics m) {
      double wall = (System.nanoTime() - startNanos) / 1e9;
      long remaining = Math.max(0, totalSteps - m.step());
      Long eta = m.stepMillis() > 0 ? (long) (remaining * m.stepMillis() / 1000) : null;
      Progress progress =
          new Progress(
              stageEnum, m.step(), m.samplesSeen(), (double) m.loss(), m.samplesPerSecond(), eta);
      heartbeat.update(new TrainingHeartbeat(progress, lastUploaded.get()));
      pendingMetrics.add(
          new TrainingStore.MetricRow(
              runId,
              stage,
              m.step(),
              m.samplesSeen(),
              m.loss(),
              m.logitScale(),
              m.learningRate(),
              m.samplesPerSecond(),
              m.stepMillis(),
              wall));
      // one line per step, so a fault test (or an operator) can see the last step a lost worker did
      log.debug("{} {} step {}/{} loss {}", runId, stage, m.step(), totalSteps, m.loss());
      if (pendingMetrics.size() >= METRIC_FLUSH_ROWS) {
        flushMetrics();
      }
      signalProgress(progress);
    }

    /**
     * Right after the trainer writes a checkpoint, before its next step: the steps before it will
     * never be trained again, so their metric rows go to Postgres first; then the checkpoint goes
     * to S3 and is recorded. Synchronous on purpose: a lost worker costs at most one interval.
     */
    void onCheckpoint(Path local) {
      flushMetrics();
      upload(local, false);
    }

    CheckpointRef upload(Path local, boolean isFinal) {
      CheckpointState state = Checkpoints.readState(local);
      S3Uri uri = CheckpointStore.uriFor(checkpointRoot, runId, stage, state.step());
      CheckpointStore.Stored stored = checkpoints.upload(local, uri);
      try {
        db.training()
            .recordCheckpoint(
                new TrainingStore.CheckpointRow(
                    runId,
                    stage,
                    state.step(),
                    state.samplesSeen(),
                    uri.toString(),
                    stored.sizeBytes(),
                    stored.sha256(),
                    isFinal));
      } catch (SQLException e) {
        // the checkpoint is in S3 and in the heartbeat: a retry still finds it
        log.warn("checkpoint {} not recorded in Postgres: {}", uri, e.getMessage());
      }
      CheckpointRef ref = new CheckpointRef(uri.toString(), state.step(), state.samplesSeen());
      lastUploaded.accumulateAndGet(
          ref, (old, now) -> old == null || now.step() >= old.step() ? now : old);
      return ref;
    }

    void markFinal(CheckpointRef c) throws SQLException {
      db.training()
          .newestCheckpoint(runId, stage)
          .filter(r -> r.step() == c.step())
          .ifPresent(
              r -> {
                try {
                  db.training()
                      .recordCheckpoint(
                          new TrainingStore.CheckpointRow(
                              r.workflowId(),
                              r.stage(),
                              r.step(),
                              r.samplesSeen(),
                              r.uri(),
                              r.sizeBytes(),
                              r.sha256(),
                              true));
                } catch (SQLException e) {
                  throw new UncheckedIOException(new IOException(e.getMessage(), e));
                }
              });
    }

    /** Metrics that fail to reach Postgres stay queued for the next flush; nothing is dropped. */
    void flushMetrics() {
      if (pendingMetrics.isEmpty()) {
        return;
      }
      try {
        db.training().appendMetrics(List.copyOf(pendingMetrics));
        pendingMetrics.clear();
      } catch (SQLException e) {
        log.warn("metrics not written yet ({} queued): {}", pendingMetrics.size(), e.getMessage());
      }
    }

    /**
     * Workflows cannot read heartbeats: tell the pipeline's progress query now and then, less often
     * as a run grows long so its history stays far below Temporal's limits.
     */
    void signalProgress(Progress progress) {
      long now = System.currentTimeMillis();
      long elapsed = (System.nanoTime() - startNanos) / 1_000_000;
      long interval =
          Math.min(PROGRESS_SIGNAL_MAX_MILLIS, Math.max(PROGRESS_SIGNAL_MIN_MILLIS, elapsed / 10));
      if (now - lastSignalMillis < interval) {
        return;
      }
      lastSignalMillis = now;
      try {
        context
            .getWorkflowClient()
            .newUntypedWorkflowStub(runId)
            .signal("reportProgress", progress);
      } catch (RuntimeException e) {
        log.debug("progress signal to {} failed: {}", runId, e.toString());
      }
    }
  }

  /** The data-size axis: a fixed subset of {@code dataSamples} staged samples, or all (0). */
  static long sampleLimit(RunSpec spec) {
    return spec.dataSamples() == null ? 0 : spec.dataSamples();
  }

  static long stepsOf(RunSpec spec) {
    if (spec.steps() != null) {
      return spec.steps();
    }
    return Math.max(1, (spec.samples() + spec.batchSize() - 1) / spec.batchSize());
  }

  static void checkCompatible(RunSpec spec, ModelPreset preset, StagedDataset data) {
    if (spec.imageSize() != preset.imageSize()) {
      throw new IllegalArgumentException(
          "imageSize "
              + spec.imageSize()
              + " does not match preset "
              + preset.name()
              + " ("
              + preset.imageSize()
              + " px)");
    }
    if (spec.imageSize() % preset.patchSize() != 0) {
      throw new IllegalArgumentException(
          "imageSize " + spec.imageSize() + " is not divisible by the patch " + preset.patchSize());
    }
    if (data.resolution() != preset.imageSize()) {
      throw new IllegalArgumentException(
          "staged data is at "
              + data.resolution()
              + " px but preset "
              + preset.name()
              + " takes "
              + preset.imageSize());
    }
    if (data.vocabSize() > preset.vocabSize()) {
      throw new IllegalArgumentException(
          "the data's tokenizer has "
              + data.vocabSize()
              + " tokens but preset "
              + preset.name()
              + " embeds only "
              + preset.vocabSize());
    }
    if (data.contextLength() != preset.contextLength()) {
      throw new IllegalArgumentException(
          "staged data has context length "
              + data.contextLength()
              + " but preset "
              + preset.name()
              + " takes "
              + preset.contextLength());
    }
  }

  private static void deleteQuietly(Path dir) {
    try {
      if (Files.exists(dir)) {
        Checkpoints.deleteRecursively(dir);
      }
    } catch (IOException | RuntimeException e) {
      log.debug("could not delete {}: {}", dir, e.toString());
    }
  }
}
