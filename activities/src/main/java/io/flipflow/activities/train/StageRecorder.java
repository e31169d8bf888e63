package io.flipflow.activities.train;

import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.checkpoint.CheckpointState;
import io.flipflow.activities.checkpoint.CheckpointStore;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.support.ActivityFailures;
import io.flipflow.activities.support.Heartbeater;
import io.flipflow.activities.tensorboard.RunCurves;
import io.flipflow.db.Database;
import io.flipflow.db.TrainingStore;
import io.flipflow.workflows.activities.ProgressSignals;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.Progress;
import io.flipflow.workflows.result.Stage;
import io.flipflow.workflows.result.TrainingHeartbeat;
import io.temporal.client.WorkflowClient;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything one attempt of a training stage tells the world: each step's progress goes into the
 * heartbeat and, batched, into {@code metrics}; each checkpoint goes to S3 and then into {@code
 * checkpoints} (a row that cannot be written now is written at the next chance, never dropped); the
 * workflow hears about progress by signal now and then. It also reads back the checkpoints a retry
 * can resume from, from the same two places it writes them, and keeps only the newest few local
 * checkpoint folders.
 *
 * <p>Over 350 lines: one writer for a stage's metrics, checkpoints, progress and curves, so their
 * retries and flushes share one clock.
 */
final class StageRecorder {
  private static final Logger log = LoggerFactory.getLogger(StageRecorder.class);

  private static final int METRIC_FLUSH_ROWS = 20;

  private final TrainingStore db;
  private final String specFingerprint;
  private final int attempt;
  private final int localCheckpoints;
  private final StallWatch stall;
  private final List<TrainingStore.CheckpointRow> pendingCheckpointRows = new ArrayList<>();
  private final CheckpointStore checkpoints;
  private final S3Uri checkpointRoot;
  private final String workflowId;
  private final Stage stage;
  private final String stageName;
  private final Heartbeater heartbeat;
  private final WorkflowClient client;
  private final AtomicReference<CheckpointRef> lastUploaded = new AtomicReference<>();
  private final List<TrainingStore.MetricRow> pendingMetrics = new ArrayList<>();
  private long startNanos = System.nanoTime();
  private final ProgressSignals signals = new ProgressSignals();
  private final java.nio.file.Path tensorboardDir;
  private RunCurves curves = RunCurves.open(null, null, null, null, null, 0);
  private boolean reports = true;

  /**
   * @param client reaches the workflow for progress signals
   * @param checkpointRoot where this run's checkpoints go, e.g. {@code s3://flipflow/checkpoints/}
   * @param specFingerprint the run's spec fingerprint, written with every checkpoint row
   * @param attempt this activity attempt: checkpoint keys are scoped by it
   */
  StageRecorder(
      Database db,
      CheckpointStore checkpoints,
      S3Uri checkpointRoot,
      String workflowId,
      Stage stage,
      String specFingerprint,
      int attempt,
      TrainingSettings settings,
      Heartbeater heartbeat,
      WorkflowClient client) {
    this.db = db.training();
    this.specFingerprint = specFingerprint;
    this.attempt = attempt;
    this.localCheckpoints = settings.localCheckpoints();
    this.tensorboardDir = settings.tensorboardDir();
    this.stall = new StallWatch(settings.stallAfterSteps(), settings.stallAtLeast());
    this.checkpoints = checkpoints;
    this.checkpointRoot = checkpointRoot;
    this.workflowId = workflowId;
    this.stage = stage;
    this.stageName = stage.name().toLowerCase(java.util.Locale.ROOT);
    this.heartbeat = heartbeat;
    this.client = client;
    heartbeat.watch(() -> stall.stalledReason(System.nanoTime()));
  }

  /**
   * For a rank other than 0 of a gang: its steps still feed its heartbeat and stall watch, but it
   * writes no metrics, curves or signals (rank 0 does, for the whole gang).
   */
  StageRecorder asFollower() {
    reports = false;
    return this;
  }

  /** A checkpoint a retry could resume from, with what its upload recorded (null if unknown). */
  record Candidate(CheckpointRef ref, Long sizeBytes, String sha256) {}

  /**
   * Every checkpoint of this stage and spec a retry could resume from, newest first: the last
   * heartbeat's (this activity's previous attempt, so the same spec) and the recorded ones of the
   * same spec fingerprint. Rows of another spec are never offered.
   */
  List<Candidate> resumeCandidates(Optional<TrainingHeartbeat> lastHeartbeat) throws SQLException {
    List<TrainingStore.CheckpointRow> rows =
        db.checkpoints(workflowId, stageName, specFingerprint).stream()
            .filter(r -> specFingerprint == null || specFingerprint.equals(r.specFingerprint()))
            .toList();
    List<Candidate> out = new ArrayList<>();
    for (TrainingStore.CheckpointRow r : rows) {
      out.add(
          new Candidate(
              new CheckpointRef(r.uri(), r.step(), r.samplesSeen()), r.sizeBytes(), r.sha256()));
    }
    lastHeartbeat
        .map(TrainingHeartbeat::lastCheckpoint)
        .filter(h -> rows.stream().noneMatch(r -> r.uri().equals(h.uri())))
        .ifPresent(h -> out.add(new Candidate(h, null, null)));
    out.sort(java.util.Comparator.comparingLong((Candidate c) -> c.ref().step()).reversed());
    return out;
  }

  /** The checkpoint this attempt resumed from: the newest in S3 until it uploads its own. */
  void resumedFrom(CheckpointRef c) {
    lastUploaded.set(c);
  }

  /** The newest checkpoint in S3 of this stage so far; null before the first. */
  CheckpointRef lastUploaded() {
    return lastUploaded.get();
  }

  /**
   * Starts the clock of the metrics' wall seconds and the stage's curves: call it when the training
   * loop starts, after any {@link #resumedFrom}.
   */
  void startClock() {
    startNanos = System.nanoTime();
    stall.alive();
    if (!reports) {
      return;
    }
    CheckpointRef from = lastUploaded.get();
    curves.close();
    curves =
        RunCurves.open(
            tensorboardDir,
            checkpoints.store(),
            checkpointRoot.resolve(workflowId + "/"),
            workflowId,
            stageName,
            from == null ? 0 : from.step() + 1);
  }

  /** Seconds since {@link #startClock()}. */
  double elapsedSeconds() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  void onStep(StepListener.StepMetrics m, long totalSteps) {
    stall.progressed(m.stepMillis());
    long remaining = Math.max(0, totalSteps - m.step());
    Long eta = m.stepMillis() > 0 ? (long) (remaining * m.stepMillis() / 1000) : null;
    Progress progress =
        new Progress(
            stage, m.step(), m.samplesSeen(), (double) m.loss(), m.samplesPerSecond(), eta);
    heartbeat.update(new TrainingHeartbeat(progress, lastUploaded.get()));
    if (!reports) {
      return; // rank 0 of the gang records and signals for all
    }
    pendingMetrics.add(
        new TrainingStore.MetricRow(
            workflowId,
            stageName,
            m.step(),
            m.samplesSeen(),
            m.loss(),
            m.logitScale(),
            m.learningRate(),
            m.samplesPerSecond(),
            m.stepMillis(),
            elapsedSeconds(),
            Float.isNaN(m.reconstructionLoss()) ? null : (double) m.reconstructionLoss()));
    java.util.Map<String, Number> scalars =
        new java.util.LinkedHashMap<>(
            java.util.Map.of(
                "train/loss", m.loss(),
                "train/learning_rate", m.learningRate(),
                "train/logit_scale", m.logitScale(),
                "train/samples_per_second", m.samplesPerSecond(),
                "train/step_ms", m.stepMillis()));
    if (!Float.isNaN(m.reconstructionLoss())) {
      scalars.put("train/reconstruction_loss", m.reconstructionLoss());
    }
    curves.scalars(m.step(), scalars);
    // one line per step, so a fault test (or an operator) can see the last step a lost worker did
    log.debug("{} {} step {}/{} loss {}", workflowId, stageName, m.step(), totalSteps, m.loss());
    if (pendingMetrics.size() >= METRIC_FLUSH_ROWS) {
      flushMetrics();
    }
    signalProgress(progress);
  }

  /**
   * Right after the trainer writes a checkpoint, before its next step: the steps before it will
   * never be trained again, so their metric rows go to Postgres first; then the checkpoint goes to
   * S3 and is recorded. Synchronous on purpose: a lost worker costs at most one interval.
   */
  void onCheckpoint(Path local) {
    flushMetrics();
    upload(local, false);
    curves.publish();
    stall.alive();
    pruneLocal(local.getParent());
  }

  /** Deletes all but the newest {@code localCheckpoints} checkpoint folders under {@code root}. */
  private void pruneLocal(Path root) {
    try (var dirs = java.nio.file.Files.list(root)) {
      List<Path> steps =
          dirs.filter(d -> d.getFileName().toString().matches("step-\\d{9}"))
              .sorted(java.util.Comparator.comparing(Path::toString).reversed())
              .toList();
      for (Path old : steps.subList(Math.min(localCheckpoints, steps.size()), steps.size())) {
        CheckpointDir.deleteRecursively(old);
      }
    } catch (java.io.IOException e) {
      log.warn("could not prune local checkpoints under {}: {}", root, e.toString());
    }
  }

  /** Uploads a local checkpoint and records it once S3 holds all of it. */
  CheckpointRef upload(Path local, boolean isFinal) {
    CheckpointState state = CheckpointDir.readState(local);
    S3Uri uri =
        CheckpointStore.uriFor(checkpointRoot, workflowId, stageName, attempt, state.step());
    CheckpointStore.Stored stored = checkpoints.upload(local, uri);
    pendingCheckpointRows.add(
        new TrainingStore.CheckpointRow(
            workflowId,
            stageName,
            state.step(),
            state.samplesSeen(),
            uri.toString(),
            stored.sizeBytes(),
            stored.sha256(),
            isFinal,
            specFingerprint,
            attempt));
    flushCheckpointRows();
    CheckpointRef ref = new CheckpointRef(uri.toString(), state.step(), state.samplesSeen());
    lastUploaded.accumulateAndGet(
        ref, (old, now) -> old == null || now.step() >= old.step() ? now : old);
    return ref;
  }

  /** Marks the recorded row of {@code c} final (a stage that ended at a checkpoint it resumed). */
  void markFinal(CheckpointRef c) throws SQLException {
    for (int i = 0; i < pendingCheckpointRows.size(); i++) {
      TrainingStore.CheckpointRow r = pendingCheckpointRows.get(i);
      if (r.step() == c.step()) {
        pendingCheckpointRows.set(
            i,
            new TrainingStore.CheckpointRow(
                r.workflowId(),
                r.stage(),
                r.step(),
                r.samplesSeen(),
                r.uri(),
                r.sizeBytes(),
                r.sha256(),
                true,
                r.specFingerprint(),
                r.attempt()));
        flushCheckpointRows();
        return;
      }
    }
    db.markFinal(workflowId, stageName, c.step());
  }

  /**
   * Writes what is still queued, trying for up to {@code patience} while Postgres is away (a
   * restart takes seconds); true when nothing is left unrecorded.
   */
  boolean flushAll(java.time.Duration patience) {
    long deadline = System.nanoTime() + patience.toNanos();
    long pause = 500;
    while (true) {
      flushMetrics();
      if (pendingMetrics.isEmpty() && pendingCheckpointRows.isEmpty()) {
        return true;
      }
      if (System.nanoTime() > deadline) {
        return false;
      }
      try {
        Thread.sleep(pause);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
      pause = Math.min(10_000, pause * 2);
    }
  }

  /**
   * A write the database refuses for what it is (a run with no {@code runs} row, a value it cannot
   * hold) will be refused again: the stage fails with the reason instead of queueing it forever.
   */
  private static void refuseIfDeterministic(SQLException e) {
    if (ActivityFailures.isDeterministic(e)) {
      throw new IllegalArgumentException("the database refused the record: " + e.getMessage(), e);
    }
  }

  /** Closes the stage's curves and copies them to S3 a last time; the attempt has ended. */
  void closeCurves() {
    curves.close();
  }

  /** Rows still queued: metrics, checkpoints. */
  String unrecorded() {
    return pendingMetrics.size()
        + " metric rows and "
        + pendingCheckpointRows.size()
        + " checkpoint rows";
  }

  /**
   * Checkpoint rows that fail to reach Postgres stay queued and go with the next checkpoint or
   * flush: the checkpoint is in S3 and in the heartbeat meanwhile, so a retry still finds it.
   */
  private void flushCheckpointRows() {
    while (!pendingCheckpointRows.isEmpty()) {
      TrainingStore.CheckpointRow row = pendingCheckpointRows.get(0);
      try {
        db.recordCheckpoint(row);
        pendingCheckpointRows.remove(0);
      } catch (SQLException e) {
        refuseIfDeterministic(e);
        log.warn(
            "checkpoint {} not recorded in Postgres yet ({} queued): {}",
            row.uri(),
            pendingCheckpointRows.size(),
            e.getMessage());
        return;
      }
    }
  }

  /** Metrics (and checkpoint rows) that fail to reach Postgres stay queued; nothing is dropped. */
  void flushMetrics() {
    flushCheckpointRows();
    if (pendingMetrics.isEmpty()) {
      return;
    }
    try {
      db.appendMetrics(List.copyOf(pendingMetrics));
      pendingMetrics.clear();
    } catch (SQLException e) {
      refuseIfDeterministic(e);
      log.warn("metrics not written yet ({} queued): {}", pendingMetrics.size(), e.getMessage());
    }
  }

  /**
   * Workflows cannot read heartbeats: tell the pipeline's progress query now and then, sparsely
   * (see {@link ProgressSignals}) so a run of a month stays far below Temporal's limits.
   */
  private void signalProgress(Progress progress) {
    if (!signals.due((System.nanoTime() - startNanos) / 1_000_000)) {
      return;
    }
    try {
      client.newUntypedWorkflowStub(workflowId).signal("reportProgress", progress);
    } catch (RuntimeException e) {
      log.debug("progress signal to {} failed: {}", workflowId, e.toString());
    }
  }
}
