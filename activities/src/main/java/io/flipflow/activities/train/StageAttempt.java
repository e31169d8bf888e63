package io.flipflow.activities.train;

import ai.djl.Device;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.checkpoint.CheckpointState;
import io.flipflow.activities.checkpoint.CheckpointStore;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.ShardSampling;
import io.flipflow.activities.data.staging.StagedCache;
import io.flipflow.activities.data.staging.StagedDataReader;
import io.flipflow.activities.engine.TcpStore;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.model.PresetChecks;
import io.flipflow.activities.support.Heartbeater;
import io.flipflow.workflows.plan.RankAssignment;
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

  /** How long the end of a stage waits for Postgres to take what is still queued. */
  static final java.time.Duration FLUSH_PATIENCE = java.time.Duration.ofMinutes(2);

  /** The worker is shutting down: the stage stopped with a checkpoint for another to resume. */
  static final class StoppedForShutdown extends RuntimeException {
    StoppedForShutdown(String message) {
      super(message);
    }
  }

  /**
   * This attempt is no longer the one Temporal waits for (it timed out, or its heartbeats stopped
   * because it stalled): it stopped with a checkpoint, and marked nothing final.
   */
  static final class Superseded extends RuntimeException {
    Superseded(String message) {
      super(message);
    }
  }

  /** What the record could not take before the stage ended; the retry records it again. */
  static final class Unrecorded extends RuntimeException {
    Unrecorded(String message) {
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
  private final StagedCache stagedCache;
  private final Optional<TrainingHeartbeat> lastHeartbeat;
  private final int attempt;
  private Gang gang; // null in one process
  private long startNanos;

  /**
   * This attempt's place in a data-parallel gang: its rank, the gang's rendezvous store (rank 0
   * tells the others there which checkpoint they all resume from) and process group.
   */
  record Gang(RankAssignment rank, TcpStore store, RankGroup group) {}

  /** The store key under which rank 0 names the checkpoint every rank resumes from. */
  static final String RESUME_KEY = "flipflow/resume-from";

  /** Marks a value of {@link #RESUME_KEY} that is rank 0's failure, not a checkpoint. */
  private static final String FAILED_MARK = "!failed: ";

  /**
   * @param dir this attempt's scratch folder (checkpoints being written, downloads)
   * @param stagedCache the worker's bounded local cache of staged shards
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
      StagedCache stagedCache,
      Optional<TrainingHeartbeat> lastHeartbeat,
      int attempt) {
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
    this.attempt = attempt;
  }

  /** Trains as one rank of {@code gang}: rank 0 records and checkpoints for all. */
  StageAttempt inGang(Gang gang) {
    this.gang = gang;
    return this;
  }

  private boolean leads() {
    return gang == null || gang.rank().isLeader();
  }

  TrainResult run() throws Exception {
    ModelPreset preset = ModelPreset.load(plan.config().preset());
    PresetChecks.checkData(preset, plan.data());
    log.info("{} {}: on {}", workflowId, plan.stageName(), devices);
    Files.createDirectories(dir);
    try (AutoCloseable curves = recorder::closeCurves;
        ClipTrainer trainer = openTrainerOfRank(preset);
        StagedBatchSource data = openData(trainer.config())) {
      if (gang != null) {
        trainer.withRanks(gang.group()); // rank 0's weights on every rank from here
      }
      if (plan.stage() == Stage.PRETRAIN && plan.wallClockBudgetSeconds() != null) {
        // also on a resumed trainer, whose checkpoint holds the last fit, not the spec's schedule
        trainer.withWallClockBudget(plan.wallClockBudgetSeconds(), plan.config().totalSteps());
      }
      startNanos = System.nanoTime();
      recorder.startClock();
      LoopResult result;
      try {
        result =
            trainer.run(
                data,
                dir.resolve("checkpoints"),
                m -> recorder.onStep(m, trainer.config().totalSteps()),
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
      if (!leads()) {
        return followerResult(result, trainer.config(), wall);
      }
      // only the attempt Temporal still waits for may call its last checkpoint final: one that
      // timed out and was retried (a zombie) must not mark a mid-run checkpoint final
      boolean current = heartbeat.confirmCurrent();
      // in a gang every rank stops when one asks: a peer's shutdown is no end of the stage either
      boolean peerStopped = stoppedByPeer(result);
      // a stage stopped by its worker's shutdown goes on elsewhere: its checkpoint is not final
      boolean ended =
          current
              && heartbeat.stopReason() != Heartbeater.StopReason.WORKER_SHUTDOWN
              && !peerStopped;
      CheckpointRef last = recorder.lastUploaded();
      if (result.checkpoint() != null && (last == null || last.step() != result.step())) {
        last = recorder.upload(result.checkpoint(), ended);
      } else if (last != null && ended) {
        recorder.markFinal(last);
      }
      if (!current) {
        recorder.flushMetrics();
        String why =
            plan.stageName()
                + " attempt stopped ("
                + heartbeat.stopReason()
                + ") at step "
                + result.step()
                + " with checkpoint "
                + (last == null ? "none" : last.uri())
                + "; it is not the current attempt, so nothing was marked final";
        // Temporal no longer waits for this attempt, so only this log tells an operator about it
        log.warn("{} {}", workflowId, why);
        throw new Superseded(why);
      }
      if (!recorder.flushAll(FLUSH_PATIENCE)) {
        throw new Unrecorded(
            "Postgres did not take "
                + recorder.unrecorded()
                + " of "
                + plan.stageName()
                + " within "
                + FLUSH_PATIENCE.toSeconds()
                + " s; the retry resumes from "
                + (last == null ? "the start" : last.uri())
                + " and records it");
      }
      if (peerStopped) {
        throw new StoppedForShutdown(
            plan.stageName()
                + " rank 0 stopped at step "
                + result.step()
                + " because another rank of the gang stopped; the gang starts again from "
                + (last == null ? "the start" : last.uri()));
      }
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
          trainer.config().totalSteps(),
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

  /**
   * How a rank other than 0 ended: it holds no checkpoint of its own (rank 0's is the stage's), so
   * it only says how far the gang got, or why it stopped when that is not the stage's end.
   */
  private TrainResult followerResult(LoopResult result, TrainConfig config, double wall) {
    String where = plan.stageName() + " rank " + gang.rank().rank() + " at step " + result.step();
    if (!heartbeat.confirmCurrent()) {
      throw new Superseded(where + ": this attempt is no longer the current one");
    }
    if (heartbeat.stopReason() == Heartbeater.StopReason.WORKER_SHUTDOWN) {
      throw new StoppedForShutdown("worker shutting down: " + where + "; the gang starts again");
    }
    if (stoppedByPeer(result)) {
      throw new StoppedForShutdown(where + ": another rank of the gang stopped; it starts again");
    }
    log.info("{} {} ended ({} s)", workflowId, where, String.format("%.1f", wall));
    return new TrainResult(
        null,
        result.step(),
        result.samplesSeen(),
        result.lastLoss(),
        wall,
        wall > 0 ? config.batchSize() * result.step() / wall : 0,
        heartbeat.stopReason() == Heartbeater.StopReason.CANCELLED);
  }

  /** A rank that stopped though nothing asked it to: another rank of its gang asked. */
  private boolean stoppedByPeer(LoopResult result) {
    return gang != null
        && result.stopped()
        && heartbeat.stopReason() == Heartbeater.StopReason.NONE;
  }

  /**
   * In a gang, rank 0 picks the checkpoint (as one process would) and names it to the others, which
   * load the same one: every rank resumes at the same step with the same optimizer state.
   */
  private ClipTrainer openTrainerOfRank(ModelPreset preset) throws Exception {
    if (gang == null) {
      return openTrainer(preset);
    }
    if (gang.rank().isLeader()) {
      try {
        ClipTrainer trainer = openTrainer(preset);
        CheckpointRef from = recorder.lastUploaded();
        gang.store().set(RESUME_KEY, from == null ? "" : from.uri());
        return trainer;
      } catch (Exception | Error e) {
        // the others wait on this key: tell them rather than leave them to the timeout
        gang.store().set(RESUME_KEY, FAILED_MARK + e.getMessage());
        throw e;
      }
    }
    String from = gang.store().getString(RESUME_KEY);
    if (from.startsWith(FAILED_MARK)) {
      throw new IllegalStateException(
          "rank 0 could not open the trainer: " + from.substring(FAILED_MARK.length()));
    }
    if (from.isEmpty()) {
      return startFromPlan(preset);
    }
    Path local = checkpoints.download(S3Uri.parse(from), dir.resolve("resume"));
    log.info("{} {}: rank {} resumes from {}", workflowId, plan.stageName(), gang.rank(), from);
    return ClipTrainer.resume(local, devices).withOrigin(origin());
  }

  /**
   * Resume from the newest usable checkpoint of this stage and spec, else start from the plan. A
   * candidate that does not download whole (size or SHA-256 differ from its upload) or does not
   * load is passed over for the previous one, with a log line.
   */
  private ClipTrainer openTrainer(ModelPreset preset) throws Exception {
    List<StageRecorder.Candidate> candidates = recorder.resumeCandidates(lastHeartbeat);
    List<String> unusable = new java.util.ArrayList<>();
    for (StageRecorder.Candidate candidate : candidates) {
      CheckpointRef c = candidate.ref();
      try {
        Path local =
            checkpoints.download(
                S3Uri.parse(c.uri()),
                dir.resolve("resume-" + c.step()),
                candidate.sizeBytes(),
                candidate.sha256());
        String written = CheckpointDir.readState(local).specFingerprint();
        if (written != null
            && plan.specFingerprint() != null
            && !written.equals(plan.specFingerprint())) {
          throw new IllegalStateException(
              "it was written for spec " + written + ", this run's is " + plan.specFingerprint());
        }
        ClipTrainer trainer = ClipTrainer.resume(local, devices);
        recorder.resumedFrom(c);
        log.info(
            "{} {}: resuming from {} (step {})", workflowId, plan.stageName(), c.uri(), c.step());
        return trainer.withOrigin(origin());
      } catch (CheckpointStore.CorruptCheckpoint
          | IllegalArgumentException
          | IllegalStateException
          | java.io.UncheckedIOException e) {
        log.warn(
            "{} {}: checkpoint {} (step {}) is not usable, falling back to the one before: {}",
            workflowId,
            plan.stageName(),
            c.uri(),
            c.step(),
            e.getMessage());
        unusable.add(c.uri() + ": " + e.getMessage());
      }
    }
    if (!unusable.isEmpty()) {
      // never silently start over: the steps behind those checkpoints would be trained twice
      throw new IllegalArgumentException(
          plan.stageName() + ": no usable checkpoint to resume from: " + unusable);
    }
    return startFromPlan(preset);
  }

  /** The plan's own start: pretraining's weights for tuning, a checkpoint's, or the seed. */
  private ClipTrainer startFromPlan(ModelPreset preset) throws Exception {
    if (plan.stage() == Stage.UNMASKED_TUNE
        && (plan.initFrom() == null || plan.initFrom().uri() == null)) {
      throw new IllegalArgumentException("unmasked tuning needs the pretraining checkpoint");
    }
    if (plan.initFrom() != null) {
      Path weights = checkpoints.download(S3Uri.parse(plan.initFrom().uri()), dir.resolve("from"));
      ClipTrainer trainer =
          plan.carriesOptimizer()
              ? ClipTrainer.fromWeightsAndOptimizer(weights, plan.config(), devices)
              : ClipTrainer.fromWeights(weights, plan.config(), devices);
      return trainer.withOrigin(origin());
    }
    // a budgeted stage starts on the spec's schedule and fits it to the clock as it runs
    return ClipTrainer.create(plan.config(), preset, devices).withOrigin(origin());
  }

  /** Where this attempt's checkpoints come from, as their state.json says. */
  private CheckpointState.Origin origin() {
    return new CheckpointState.Origin(
        workflowId, plan.stageName(), plan.specFingerprint(), attempt);
  }

  /**
   * The stage's data as the spec asks for it; a rank of a gang decodes only its own share of each
   * global batch, and over data streams reads only its own streams' shards.
   */
  private StagedBatchSource openData(TrainConfig config) {
    StagedDataReader.Options options =
        StagedDataReader.Options.DEFAULTS
            .withSampleLimit(plan.dataSamples() == null ? 0 : plan.dataSamples())
            .withSampling(ShardSampling.parse(plan.dataSampling()))
            .withStreams(plan.streamCount());
    if (gang != null) {
      options = options.withRank(gang.rank().rank(), gang.rank().worldSize());
      if (gang.rank().isLeader() && plan.streamCount() == 1) {
        log.info(
            "{} {}: one data stream, so each of the {} ranks downloads every shard it reads"
                + " captions from; dataStreams (a multiple of the ranks) splits the downloads",
            workflowId,
            plan.stageName(),
            gang.rank().worldSize());
      }
    }
    return new StagedBatchSource(
        StagedDataReader.open(
            store,
            S3Uri.parse(plan.data().manifestUri()),
            stagedCache,
            config.batchSize(),
            config.seed(),
            options));
  }

  private boolean shouldStop() {
    if (heartbeat.stopRequested()) {
      return true;
    }
    // a budgeted run ends on the clock by itself (WallClockBudget.Pace); this guards a step that
    // hangs
    Long budget = plan.wallClockBudgetSeconds();
    return plan.stage() == Stage.PRETRAIN
        && budget != null
        && System.nanoTime() - startNanos > budget * 1_150_000_000L;
  }
}
