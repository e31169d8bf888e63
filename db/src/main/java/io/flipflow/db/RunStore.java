package io.flipflow.db;

import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.Optional;

/**
 * Tables {@code runs} and {@code stages}: one row per pipeline run and per stage of it, written by
 * the control worker's record activities. Every write is an upsert by natural key, so a retried
 * activity or a replayed workflow rewrites its row with the same values.
 */
public final class RunStore {
  private final Database db;

  RunStore(Database db) {
    this.db = db;
  }

  /**
   * A run as {@code runs} holds it: the spec as JSONB and the paper's axes as typed columns.
   *
   * @param workflowId the pipeline's workflow id (column {@code run_id}, the key of every per-run
   *     table)
   * @param temporalRunId Temporal's run id of the execution (column {@code workflow_run_id})
   */
  public record RunRow(
      String workflowId,
      String temporalRunId,
      String studyId,
      String name,
      String modelPreset,
      int imageSize,
      double maskRatio,
      int batchSize,
      Long scheduleSamples,
      String dataUri,
      boolean unmaskedTuning,
      long seed,
      String device,
      String specJson,
      String specFingerprint) {}

  /** What the record already holds of a run: enough to tell whether a new start may reuse it. */
  public record ExistingRun(
      String workflowId,
      String temporalRunId,
      String status,
      String specJson,
      String specFingerprint,
      java.time.Instant startedAt) {}

  /**
   * A stage's row, stamped with the workflow's own clock, so a replayed or retried record writes
   * the same values; wall seconds follow from the two times once the stage has ended.
   */
  public record StageRow(
      String workflowId,
      String stage,
      String status,
      long startedAtMillis,
      Long finishedAtMillis,
      Long samplesSeen,
      Double samplesPerSecond,
      String message) {}

  /** Inserts the run, or marks an existing row RUNNING again (a restarted workflow). */
  public void upsertRun(RunRow r) throws SQLException {
    Sql.update(
        db,
        """
        INSERT INTO runs (run_id, workflow_run_id, study_id, name, model_preset, image_size,
          mask_ratio, batch_size, schedule_samples, data_uri, unmasked_tuning, seed, device, spec,
          spec_fingerprint)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?)
        ON CONFLICT (run_id) DO UPDATE SET workflow_run_id = EXCLUDED.workflow_run_id,
          status = 'RUNNING', error = NULL, finished_at = NULL, device = EXCLUDED.device,
          spec = EXCLUDED.spec, spec_fingerprint = EXCLUDED.spec_fingerprint
        """,
        r.workflowId(),
        r.temporalRunId(),
        r.studyId(),
        r.name(),
        r.modelPreset(),
        r.imageSize(),
        r.maskRatio(),
        r.batchSize(),
        r.scheduleSamples(),
        r.dataUri(),
        r.unmaskedTuning(),
        r.seed(),
        r.device(),
        r.specJson(),
        r.specFingerprint());
  }

  /** The run's row as far as identity goes, if it has one. */
  public Optional<ExistingRun> find(String workflowId) throws SQLException {
    return Sql.first(
        db,
        "SELECT run_id, workflow_run_id, status, spec::text, spec_fingerprint, started_at"
            + " FROM runs WHERE run_id = ?",
        rs ->
            new ExistingRun(
                rs.getString(1),
                rs.getString(2),
                rs.getString(3),
                rs.getString(4),
                rs.getString(5),
                rs.getTimestamp(6).toInstant()),
        workflowId);
  }

  /** The size of the training set the run uses, once staging knows it. */
  public void setDataSamples(String workflowId, long samples) throws SQLException {
    Sql.update(db, "UPDATE runs SET data_samples = ? WHERE run_id = ?", samples, workflowId);
  }

  /** Ends the run: status, error, and the headline figures when known (null keeps the old). */
  public void finishRun(
      String workflowId, String status, String error, Double zeroShotTop1, Long samplesSeen)
      throws SQLException {
    Sql.update(
        db,
        """
        UPDATE runs SET status = ?, error = ?, finished_at = now(),
          zero_shot_top1 = COALESCE(?, zero_shot_top1), samples_seen = COALESCE(?, samples_seen)
        WHERE run_id = ?
        """,
        status,
        error,
        zeroShotTop1,
        samplesSeen,
        workflowId);
  }

  public void upsertStage(StageRow s) throws SQLException {
    Timestamp started = new Timestamp(s.startedAtMillis());
    Timestamp finished = s.finishedAtMillis() == null ? null : new Timestamp(s.finishedAtMillis());
    Double wall =
        s.finishedAtMillis() == null ? null : (s.finishedAtMillis() - s.startedAtMillis()) / 1000.0;
    Sql.update(
        db,
        """
        INSERT INTO stages (run_id, stage, status, started_at, finished_at, wall_seconds,
          samples_seen, samples_per_second, details)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, jsonb_strip_nulls(jsonb_build_object('message', ?::text)))
        ON CONFLICT (run_id, stage) DO UPDATE SET status = EXCLUDED.status,
          started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at,
          wall_seconds = EXCLUDED.wall_seconds,
          samples_seen = COALESCE(EXCLUDED.samples_seen, stages.samples_seen),
          samples_per_second = COALESCE(EXCLUDED.samples_per_second, stages.samples_per_second),
          details = COALESCE(EXCLUDED.details, stages.details)
        """,
        s.workflowId(),
        s.stage(),
        s.status(),
        started,
        finished,
        wall,
        s.samplesSeen(),
        s.samplesPerSecond(),
        s.message());
  }

  public Optional<String> runStatus(String workflowId) throws SQLException {
    return Sql.first(
        db, "SELECT status FROM runs WHERE run_id = ?", rs -> rs.getString(1), workflowId);
  }
}
