package io.flipflow.db;

import java.sql.SQLException;
import java.util.List;

/**
 * Tables {@code metrics} and {@code checkpoints}, written by the training activity on the gpu
 * queue: the loss curve in batches, and a checkpoint row once S3 holds the whole checkpoint.
 */
public final class TrainingStore {
  private final Database db;

  TrainingStore(Database db) {
    this.db = db;
  }

  public record MetricRow(
      String workflowId,
      String stage,
      long step,
      long samplesSeen,
      double loss,
      double logitScale,
      double learningRate,
      double samplesPerSecond,
      double stepMillis,
      double wallSeconds,
      Double reconstructionLoss) {

    /** A step without Table 1f's decoder. */
    public MetricRow(
        String workflowId,
        String stage,
        long step,
        long samplesSeen,
        double loss,
        double logitScale,
        double learningRate,
        double samplesPerSecond,
        double stepMillis,
        double wallSeconds) {
      this(
          workflowId,
          stage,
          step,
          samplesSeen,
          loss,
          logitScale,
          learningRate,
          samplesPerSecond,
          stepMillis,
          wallSeconds,
          null);
    }
  }

  public record CheckpointRow(
      String workflowId,
      String stage,
      long step,
      long samplesSeen,
      String uri,
      long sizeBytes,
      String sha256,
      boolean isFinal,
      String specFingerprint,
      Integer attempt) {}

  /** Appends a batch in one transaction; steps already recorded are left as they are. */
  public int appendMetrics(List<MetricRow> rows) throws SQLException {
    return Sql.batch(
        db,
        """
        INSERT INTO metrics (run_id, stage, step, samples_seen, loss, logit_scale,
          learning_rate, samples_per_second, step_millis, wall_seconds, reconstruction_loss)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (run_id, stage, step) DO NOTHING
        """,
        rows,
        m ->
            new Object[] {
              m.workflowId(),
              m.stage(),
              m.step(),
              m.samplesSeen(),
              m.loss(),
              m.logitScale(),
              m.learningRate(),
              m.samplesPerSecond(),
              m.stepMillis(),
              m.wallSeconds(),
              m.reconstructionLoss()
            });
  }

  /** Upserts by (run, stage, step); {@code is_final} once set stays set. */
  public void recordCheckpoint(CheckpointRow r) throws SQLException {
    Sql.update(
        db,
        """
        INSERT INTO checkpoints (run_id, stage, step, samples_seen, uri, size_bytes, sha256, is_final,
          spec_fingerprint, attempt)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (run_id, stage, step) DO UPDATE SET uri = EXCLUDED.uri,
          size_bytes = EXCLUDED.size_bytes, sha256 = EXCLUDED.sha256,
          is_final = checkpoints.is_final OR EXCLUDED.is_final,
          spec_fingerprint = EXCLUDED.spec_fingerprint, attempt = EXCLUDED.attempt
        """,
        r.workflowId(),
        r.stage(),
        r.step(),
        r.samplesSeen(),
        r.uri(),
        r.sizeBytes(),
        r.sha256(),
        r.isFinal(),
        r.specFingerprint(),
        r.attempt());
  }

  /** Marks a recorded checkpoint as its stage's final one. */
  public void markFinal(String workflowId, String stage, long step) throws SQLException {
    Sql.update(
        db,
        "UPDATE checkpoints SET is_final = TRUE WHERE run_id = ? AND stage = ? AND step = ?",
        workflowId,
        stage,
        step);
  }

  /**
   * The recorded checkpoints of a stage, newest first, for a retried attempt to resume from: those
   * of {@code specFingerprint} only, or all of them when it is null.
   */
  public List<CheckpointRow> checkpoints(String workflowId, String stage, String specFingerprint)
      throws SQLException {
    return Sql.list(
        db,
        """
        SELECT run_id, stage, step, samples_seen, uri, size_bytes, sha256, is_final,
          spec_fingerprint, attempt
        FROM checkpoints WHERE run_id = ? AND stage = ?
          AND (?::text IS NULL OR spec_fingerprint = ?::text)
        ORDER BY step DESC
        """,
        rs ->
            new CheckpointRow(
                rs.getString(1),
                rs.getString(2),
                rs.getLong(3),
                rs.getLong(4),
                rs.getString(5),
                rs.getLong(6),
                rs.getString(7),
                rs.getBoolean(8),
                rs.getString(9),
                (Integer) rs.getObject(10)),
        workflowId,
        stage,
        specFingerprint,
        specFingerprint);
  }
}
