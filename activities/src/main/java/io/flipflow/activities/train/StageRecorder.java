package io.flipflow.activities.train;

import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.checkpoint.CheckpointState;
import io.flipflow.activities.checkpoint.CheckpointStore;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.support.Heartbeater;
import io.flipflow.db.Database;
import io.flipflow.db.TrainingStore;
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
 * checkpoints}; the workflow hears about progress by signal now and then. It also reads back the
 * newest checkpoint a retry can resume from, from the same two places it writes them.
 */
final class StageRecorder {
  private static final Logger log = LoggerFactory.getLogger(StageRecorder.class);

  private static final int METRIC_FLUSH_ROWS = 20;

  /** Progress signals: every 10 s at first, then a tenth of the elapsed time, at most a minute. */
  private static final long PROGRESS_SIGNAL_MIN_MILLIS = 10_000;

  private static final long PROGRESS_SIGNAL_MAX_MILLIS = 60_000;

  private final TrainingStore db;
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
  private long lastSignalMillis;

  /**
   * @param client reaches the workflow for progress signals
   * @param checkpointRoot where this run's checkpoints go, e.g. {@code s3://flipflow/checkpoints/}
   */
  StageRecorder(
      Database db,
      CheckpointStore checkpoints,
      S3Uri checkpointRoot,
      String workflowId,
      Stage stage,
      Heartbeater heartbeat,
      WorkflowClient client) {
    this.db = db.training();
    this.checkpoints = checkpoints;
    this.checkpointRoot = checkpointRoot;
    this.workflowId = workflowId;
    this.stage = stage;
    this.stageName = stage.name().toLowerCase(java.util.Locale.ROOT);
    this.heartbeat = heartbeat;
    this.client = client;
  }

  /** The newer of the last heartbeat's checkpoint and the newest recorded one. */
  Optional<CheckpointRef> newestCheckpoint(Optional<TrainingHeartbeat> lastHeartbeat)
      throws SQLException {
    Optional<CheckpointRef> fromHeartbeat = lastHeartbeat.map(TrainingHeartbeat::lastCheckpoint);
    Optional<CheckpointRef> fromDb =
        db.newestCheckpoint(workflowId, stageName)
            .map(r -> new CheckpointRef(r.uri(), r.step(), r.samplesSeen()));
    Optional<CheckpointRef> best = fromHeartbeat;
    if (fromDb.isPresent() && (best.isEmpty() || fromDb.get().step() > best.get().step())) {
      best = fromDb;
    }
    best.ifPresent(lastUploaded::set);
    return best;
  }

  /** The newest checkpoint in S3 of this stage so far; null before the first. */
  CheckpointRef lastUploaded() {
    return lastUploaded.get();
  }

  /** Starts the clock of the metrics' wall seconds: call it when the training loop starts. */
  void startClock() {
    startNanos = System.nanoTime();
  }

  /** Seconds since {@link #startClock()}. */
  double elapsedSeconds() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  void onStep(StepListener.StepMetrics m, long totalSteps) {
    long remaining = Math.max(0, totalSteps - m.step());
    Long eta = m.stepMillis() > 0 ? (long) (remaining * m.stepMillis() / 1000) : null;
    Progress progress =
        new Progress(
            stage, m.step(), m.samplesSeen(), (double) m.loss(), m.samplesPerSecond(), eta);
    heartbeat.update(new TrainingHeartbeat(progress, lastUploaded.get()));
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
            elapsedSeconds()));
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
  }

  /** Uploads a local checkpoint and records it once S3 holds all of it. */
  CheckpointRef upload(Path local, boolean isFinal) {
    CheckpointState state = CheckpointDir.readState(local);
    S3Uri uri = CheckpointStore.uriFor(checkpointRoot, workflowId, stageName, state.step());
    CheckpointStore.Stored stored = checkpoints.upload(local, uri);
    try {
      db.recordCheckpoint(
          new TrainingStore.CheckpointRow(
              workflowId,
              stageName,
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

  /** Marks the recorded row of {@code c} final (a stage that ended at a checkpoint it resumed). */
  void markFinal(CheckpointRef c) throws SQLException {
    db.markFinal(workflowId, stageName, c.step());
  }

  /** Metrics that fail to reach Postgres stay queued for the next flush; nothing is dropped. */
  void flushMetrics() {
    if (pendingMetrics.isEmpty()) {
      return;
    }
    try {
      db.appendMetrics(List.copyOf(pendingMetrics));
      pendingMetrics.clear();
    } catch (SQLException e) {
      log.warn("metrics not written yet ({} queued): {}", pendingMetrics.size(), e.getMessage());
    }
  }

  /**
   * Workflows cannot read heartbeats: tell the pipeline's progress query now and then, less often
   * as a run grows long so its history stays far below Temporal's limits.
   */
  private void signalProgress(Progress progress) {
    long now = System.currentTimeMillis();
    long elapsed = (System.nanoTime() - startNanos) / 1_000_000;
    long interval =
        Math.min(PROGRESS_SIGNAL_MAX_MILLIS, Math.max(PROGRESS_SIGNAL_MIN_MILLIS, elapsed / 10));
    if (now - lastSignalMillis < interval) {
      return;
    }
    lastSignalMillis = now;
    try {
      client.newUntypedWorkflowStub(workflowId).signal("reportProgress", progress);
    } catch (RuntimeException e) {
      log.debug("progress signal to {} failed: {}", workflowId, e.toString());
    }
  }
}
