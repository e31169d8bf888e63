package io.flipflow.activities.train;

import ai.djl.Device;
import io.flipflow.activities.checkpoint.CheckpointStore;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.StagedDataReader;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.model.PresetChecks;
import io.flipflow.activities.support.Heartbeater;
import io.flipflow.workflows.plan.TrainConfig;
import io.flipflow.workflows.plan.TrainingPlan;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.Stage;
import io.flipflow.workflows.result.TrainResult;
import io.flipflow.workflows.result.TrainingHeartbeat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One attempt of one training stage: open the trainer (resume the newest checkpoint a retry can
 * find, or start from the plan's initial weights or seed, fitted to the wall-clock budget), run the
 * loop, make sure the last state is in S3 and recorded, and say how it ended.
 */
final class StageAttempt {
  private static final Logger log = LoggerFactory.getLogger(StageAttempt.class);

  /** The worker is shutting down: the stage stopped with a checkpoint for another to resume. */
  static final class StoppedForShutdown extends RuntimeException {
    StoppedForShutdown(String message) {
      super(message);
    }
  }

  /** A diverged loss, with the last good checkpoint in S3 named. */
  static final class Diverged extends RuntimeException {
    Diverged(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final TrainingPlan plan;
  private final String workflowId;
  private final Path dir;
  private final List<Device> devices;
  private final Heartbeater heartbeat;
  private final StageRecorder recorder;
  private final S3Store store;
  private final CheckpointStore checkpoints;
  private final Path stagedCache;
  private final Optional<TrainingHeartbeat> lastHeartbeat;
  private long startNanos;

  /**
   * @param dir this attempt's scratch folder (checkpoints being written, downloads)
   * @param stagedCache the worker's local cache of staged shards
   * @param lastHeartbeat the previous attempt's last heartbeat details, if any
   */
  StageAttempt(
      TrainingPlan plan,
      String workflowId,
      Path dir,
      List<Device> devices,
      Heartbeater heartbeat,
      StageRecorder recorder,
      S3Store store,
      Path stagedCache,
      Optional<TrainingHeartbeat> lastHeartbeat) {
    this.plan = plan;
    this.workflowId = workflowId;
    this.dir = dir;
    this.devices = devices;
    this.heartbeat = heartbeat;
    this.recorder = recorder;
    this.store = store;
    this.checkpoints = new CheckpointStore(store);
    this.stagedCache = stagedCache;
    this.lastHeartbeat = lastHeartbeat;
  }

  TrainResult run() throws Exception {
    ModelPreset preset = ModelPreset.load(plan.config().preset());
    PresetChecks.checkData(preset, plan.data());
    log.info("{} {}: on {}", workflowId, plan.stageName(), devices);
    Files.createDirectories(dir);
    try (ClipTrainer trainer = openTrainer(preset);
        StagedBatchSource data = openData(trainer.config())) {
      long totalSteps = trainer.config().totalSteps();
      startNanos = System.nanoTime();
      recorder.startClock();
      LoopResult result;
      try {
        result =
            trainer.run(
                data,
                dir.resolve("checkpoints"),
                m -> recorder.onStep(m, totalSteps),
                this::shouldStop,
                recorder::onCheckpoint);
      } catch (TrainingDivergedException e) {
        recorder.flushMetrics();
        CheckpointRef good = recorder.lastUploaded();
        throw new Diverged(
            e.getMessage()
                + "; last good checkpoint: "
                + (good == null ? "none" : good.uri() + " (step " + good.step() + ")"),
            e);
      }
      double wall = (System.nanoTime() - startNanos) / 1e9;
      CheckpointRef last = recorder.lastUploaded();
      if (result.checkpoint() != null && (last == null || last.step() != result.step())) {
        last = recorder.upload(result.checkpoint(), true);
      } else if (last != null) {
        recorder.markFinal(last);
      }
      recorder.flushMetrics();
      if (heartbeat.stopReason() == Heartbeater.StopReason.WORKER_SHUTDOWN) {
        throw new StoppedForShutdown(
            "worker shutting down: "
                + plan.stageName()
                + " stopped at step "
                + result.step()
                + " with checkpoint "
                + (last == null ? "none" : last.uri())
                + "; another worker resumes from it");
      }
      boolean cancelled = heartbeat.stopReason() == Heartbeater.StopReason.CANCELLED;
      log.info(
          "{} {} ended at step {}/{} (loss {}, {} s){}",
          workflowId,
          plan.stageName(),
          result.step(),
          totalSteps,
          result.lastLoss(),
          String.format("%.1f", wall),
          cancelled ? ", stopped on request" : "");
      return new TrainResult(
          last,
          result.step(),
          result.samplesSeen(),
          result.lastLoss(),
          wall,
          wall > 0 ? trainer.config().batchSize() * result.step() / wall : 0,
          cancelled);
    }
  }

  /** Resume if any checkpoint of this stage exists, else start from the plan. */
  private ClipTrainer openTrainer(ModelPreset preset) throws Exception {
    Optional<CheckpointRef> newest = recorder.newestCheckpoint(lastHeartbeat);
    if (newest.isPresent()) {
      CheckpointRef c = newest.get();
      log.info(
          "{} {}: resuming from {} (step {})", workflowId, plan.stageName(), c.uri(), c.step());
      return ClipTrainer.resume(
          checkpoints.download(S3Uri.parse(c.uri()), dir.resolve("resume-" + c.step())), devices);
    }
    if (plan.stage() == Stage.UNMASKED_TUNE
        && (plan.initFrom() == null || plan.initFrom().uri() == null)) {
      throw new IllegalArgumentException("unmasked tuning needs the pretraining checkpoint");
    }
    if (plan.initFrom() != null) {
      Path weights = checkpoints.download(S3Uri.parse(plan.initFrom().uri()), dir.resolve("from"));
      return ClipTrainer.fromWeights(weights, plan.config(), devices);
    }
    TrainConfig config = plan.config();
    if (plan.wallClockBudgetSeconds() != null) {
      config =
          WallClockBudget.fit(
              config,
              preset,
              plan.wallClockBudgetSeconds(),
              devices,
              () -> openData(plan.config()),
              dir.resolve("calibration"),
              heartbeat::stopRequested);
    }
    return ClipTrainer.create(config, preset, devices);
  }

  private StagedBatchSource openData(TrainConfig config) {
    return new StagedBatchSource(
        StagedDataReader.open(
            store,
            S3Uri.parse(plan.data().manifestUri()),
            stagedCache,
            config.batchSize(),
            config.seed(),
            plan.dataSamples() == null ? 0 : plan.dataSamples()));
  }

  private boolean shouldStop() {
    if (heartbeat.stopRequested()) {
      return true;
    }
    // a budgeted run whose steps were fitted ends by itself; this only guards a slow machine
    Long budget = plan.wallClockBudgetSeconds();
    return plan.stage() == Stage.PRETRAIN
        && budget != null
        && System.nanoTime() - startNanos > budget * 1_150_000_000L;
  }
}
