package io.flipflow.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Idempotent writes and the few reads of the run record. Every insert is keyed by natural keys and
 * written with ON CONFLICT, so a retried activity updates its row instead of adding another.
 */
public final class RunStore {
  private final Database db;

  RunStore(Database db) {
    this.db = db;
  }

  public record StudyRow(
      String studyId, String name, String workflowRunId, String budget, String specJson) {}

  public record RunRow(
      String runId,
      String workflowRunId,
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
      String specJson) {}

  public record StageRow(
      String runId,
      String stage,
      String status,
      int attempt,
      Double wallSeconds,
      Long steps,
      Long samplesSeen,
      Double samplesPerSecond,
      String detailsJson) {}

  public record MetricRow(
      String runId,
      String stage,
      long step,
      long samplesSeen,
      double loss,
      double logitScale,
      double learningRate,
      double samplesPerSecond,
      double stepMillis,
      double wallSeconds) {}

  public record CheckpointRow(
      String runId,
      String stage,
      long step,
      long samplesSeen,
      String uri,
      long sizeBytes,
      String sha256,
      boolean isFinal) {}

  public record EvalRow(
      String runId,
      String phase,
      String checkpointUri,
      String task,
      String dataset,
      String split,
      String inference,
      String metric,
      double value) {}

  public record DataIssueRow(
      String datasetUri, String shard, String sampleKey, String reason, String runId) {}

  public void upsertStudy(StudyRow s) throws SQLException {
    exec(
        """
        INSERT INTO studies (study_id, name, workflow_run_id, budget, spec)
        VALUES (?, ?, ?, ?, ?::jsonb)
        ON CONFLICT (study_id) DO UPDATE SET workflow_run_id = EXCLUDED.workflow_run_id,
          name = EXCLUDED.name, budget = EXCLUDED.budget, spec = EXCLUDED.spec
        """,
        s.studyId(),
        s.name(),
        s.workflowRunId(),
        s.budget(),
        s.specJson());
  }

  /** RUNNING clears the end time; any other status sets it. */
  public void setStudyStatus(String studyId, String status) throws SQLException {
    exec(
        """
        UPDATE studies SET status = ?,
          finished_at = CASE WHEN ? = 'RUNNING' THEN NULL ELSE now() END
        WHERE study_id = ?
        """,
        status,
        status,
        studyId);
  }

  public void upsertRun(RunRow r) throws SQLException {
    exec(
        """
        INSERT INTO runs (run_id, workflow_run_id, study_id, name, model_preset, image_size,
          mask_ratio, batch_size, schedule_samples, data_uri, unmasked_tuning, seed, device, spec)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb)
        ON CONFLICT (run_id) DO UPDATE SET workflow_run_id = EXCLUDED.workflow_run_id,
          status = 'RUNNING', error = NULL, finished_at = NULL
        """,
        r.runId(),
        r.workflowRunId(),
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
        r.specJson());
  }

  public void setRunDataSamples(String runId, long samples) throws SQLException {
    exec("UPDATE runs SET data_samples = ? WHERE run_id = ?", samples, runId);
  }

  public void finishRun(String runId, String status, String error) throws SQLException {
    finishRun(runId, status, error, null, null);
  }

  public void finishRun(
      String runId, String status, String error, Double zeroShotTop1, Long samplesSeen)
      throws SQLException {
    exec(
        """
        UPDATE runs SET status = ?, error = ?, finished_at = now(),
          zero_shot_top1 = COALESCE(?, zero_shot_top1), samples_seen = COALESCE(?, samples_seen)
        WHERE run_id = ?
        """,
        status,
        error,
        zeroShotTop1,
        samplesSeen,
        runId);
  }

  public record StudyRunRow(
      String studyId,
      String runId,
      String status,
      String modelPreset,
      Long dataSamples,
      Long scheduleSamples,
      Double maskRatio,
      Integer batchSize,
      Double zeroShotTop1,
      Long samplesSeen,
      Double wallSeconds,
      String message) {}

  public void upsertStudyRun(StudyRunRow r) throws SQLException {
    exec(
        """
        INSERT INTO study_runs (study_id, run_id, status, model_preset, data_samples,
          schedule_samples, mask_ratio, batch_size, zero_shot_top1, samples_seen, wall_seconds,
          message)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (study_id, run_id) DO UPDATE SET status = EXCLUDED.status,
          zero_shot_top1 = EXCLUDED.zero_shot_top1, samples_seen = EXCLUDED.samples_seen,
          wall_seconds = EXCLUDED.wall_seconds, message = EXCLUDED.message, recorded_at = now()
        """,
        r.studyId(),
        r.runId(),
        r.status(),
        r.modelPreset(),
        r.dataSamples(),
        r.scheduleSamples(),
        r.maskRatio(),
        r.batchSize(),
        r.zeroShotTop1(),
        r.samplesSeen(),
        r.wallSeconds(),
        r.message());
  }

  public Optional<String> runStatus(String runId) throws SQLException {
    try (Connection c = db.connection();
        PreparedStatement ps = c.prepareStatement("SELECT status FROM runs WHERE run_id = ?")) {
      ps.setString(1, runId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
      }
    }
  }

  /** Marks a stage started (or restarted by a retry: attempt goes up, nothing is duplicated). */
  public void startStage(String runId, String stage, int attempt) throws SQLException {
    exec(
        """
        INSERT INTO stages (run_id, stage, status, attempt) VALUES (?, ?, 'RUNNING', ?)
        ON CONFLICT (run_id, stage) DO UPDATE SET status = 'RUNNING', attempt = EXCLUDED.attempt,
          finished_at = NULL
        """,
        runId,
        stage,
        attempt);
  }

  public void finishStage(StageRow s) throws SQLException {
    exec(
        """
        INSERT INTO stages (run_id, stage, status, attempt, finished_at, wall_seconds, steps,
          samples_seen, samples_per_second, details)
        VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?, ?::jsonb)
        ON CONFLICT (run_id, stage) DO UPDATE SET status = EXCLUDED.status,
          attempt = EXCLUDED.attempt, finished_at = now(), wall_seconds = EXCLUDED.wall_seconds,
          steps = EXCLUDED.steps, samples_seen = EXCLUDED.samples_seen,
          samples_per_second = EXCLUDED.samples_per_second, details = EXCLUDED.details
        """,
        s.runId(),
        s.stage(),
        s.status(),
        s.attempt(),
        s.wallSeconds(),
        s.steps(),
        s.samplesSeen(),
        s.samplesPerSecond(),
        s.detailsJson());
  }

  /**
   * Upserts a stage with the workflow's own timestamps (so a replayed or retried record writes the
   * same values); wall seconds follow from them when the stage has ended.
   */
  public void upsertStage(
      String runId,
      String stage,
      String status,
      long startedAtMillis,
      Long finishedAtMillis,
      Long samplesSeen,
      Double samplesPerSecond,
      String message)
      throws SQLException {
    java.sql.Timestamp started = new java.sql.Timestamp(startedAtMillis);
    java.sql.Timestamp finished =
        finishedAtMillis == null ? null : new java.sql.Timestamp(finishedAtMillis);
    Double wall = finishedAtMillis == null ? null : (finishedAtMillis - startedAtMillis) / 1000.0;
    exec(
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
        runId,
        stage,
        status,
        started,
        finished,
        wall,
        samplesSeen,
        samplesPerSecond,
        message);
  }

  /** Sets the step count of a stage (written by the training activity, which knows it). */
  public void setStageSteps(String runId, String stage, long steps) throws SQLException {
    exec("UPDATE stages SET steps = ? WHERE run_id = ? AND stage = ?", steps, runId, stage);
  }

  /** Appends a batch of metrics in one transaction; rows already there are left as they are. */
  public int appendMetrics(List<MetricRow> rows) throws SQLException {
    if (rows.isEmpty()) {
      return 0;
    }
    try (Connection c = db.connection()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement(
              """
              INSERT INTO metrics (run_id, stage, step, samples_seen, loss, logit_scale,
                learning_rate, samples_per_second, step_millis, wall_seconds)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
              ON CONFLICT (run_id, stage, step) DO NOTHING
              """)) {
        for (MetricRow m : rows) {
          bind(
              ps,
              m.runId(),
              m.stage(),
              m.step(),
              m.samplesSeen(),
              m.loss(),
              m.logitScale(),
              m.learningRate(),
              m.samplesPerSecond(),
              m.stepMillis(),
              m.wallSeconds());
          ps.addBatch();
        }
        int inserted = 0;
        for (int n : ps.executeBatch()) {
          inserted += Math.max(n, 0);
        }
        c.commit();
        return inserted;
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    }
  }

  public void recordCheckpoint(CheckpointRow r) throws SQLException {
    exec(
        """
        INSERT INTO checkpoints (run_id, stage, step, samples_seen, uri, size_bytes, sha256, is_final)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (run_id, stage, step) DO UPDATE SET uri = EXCLUDED.uri,
          size_bytes = EXCLUDED.size_bytes, sha256 = EXCLUDED.sha256,
          is_final = checkpoints.is_final OR EXCLUDED.is_final
        """,
        r.runId(),
        r.stage(),
        r.step(),
        r.samplesSeen(),
        r.uri(),
        r.sizeBytes(),
        r.sha256(),
        r.isFinal());
  }

  /** The newest complete checkpoint of a stage, for a retried attempt to resume from. */
  public Optional<CheckpointRow> newestCheckpoint(String runId, String stage) throws SQLException {
    try (Connection c = db.connection();
        PreparedStatement ps =
            c.prepareStatement(
                """
                SELECT run_id, stage, step, samples_seen, uri, size_bytes, sha256, is_final
                FROM checkpoints WHERE run_id = ? AND stage = ? ORDER BY step DESC LIMIT 1
                """)) {
      ps.setString(1, runId);
      ps.setString(2, stage);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(
            new CheckpointRow(
                rs.getString(1),
                rs.getString(2),
                rs.getLong(3),
                rs.getLong(4),
                rs.getString(5),
                rs.getLong(6),
                rs.getString(7),
                rs.getBoolean(8)));
      }
    }
  }

  public void recordEvalResults(List<EvalRow> rows) throws SQLException {
    try (Connection c = db.connection()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement(
              """
              INSERT INTO eval_results (run_id, phase, checkpoint_uri, task, dataset, split,
                inference, metric, value)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
              ON CONFLICT (run_id, phase, task, dataset, split, inference, metric)
              DO UPDATE SET value = EXCLUDED.value, checkpoint_uri = EXCLUDED.checkpoint_uri
              """)) {
        for (EvalRow r : rows) {
          bind(
              ps,
              r.runId(),
              r.phase(),
              r.checkpointUri(),
              r.task(),
              r.dataset(),
              r.split(),
              r.inference(),
              r.metric(),
              r.value());
          ps.addBatch();
        }
        ps.executeBatch();
        c.commit();
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    }
  }

  public void recordDataIssues(List<DataIssueRow> rows) throws SQLException {
    if (rows.isEmpty()) {
      return;
    }
    try (Connection c = db.connection()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement(
              """
              INSERT INTO data_issues (dataset_uri, shard, sample_key, reason, run_id)
              VALUES (?, ?, ?, ?, ?)
              ON CONFLICT (dataset_uri, shard, sample_key) DO UPDATE SET reason = EXCLUDED.reason
              """)) {
        for (DataIssueRow r : rows) {
          bind(ps, r.datasetUri(), r.shard(), r.sampleKey(), r.reason(), r.runId());
          ps.addBatch();
        }
        ps.executeBatch();
        c.commit();
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    }
  }

  /** Counts rows of a table for one run; used by tests and reliability figures. */
  public long countForRun(String table, String runId) throws SQLException {
    if (!List.of("metrics", "stages", "checkpoints", "eval_results").contains(table)) {
      throw new IllegalArgumentException("not a per-run table: " + table);
    }
    try (Connection c = db.connection();
        PreparedStatement ps =
            c.prepareStatement("SELECT count(*) FROM " + table + " WHERE run_id = ?")) {
      ps.setString(1, runId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  public List<MetricRow> metrics(String runId, String stage) throws SQLException {
    List<MetricRow> out = new ArrayList<>();
    try (Connection c = db.connection();
        PreparedStatement ps =
            c.prepareStatement(
                """
                SELECT run_id, stage, step, samples_seen, loss, logit_scale, learning_rate,
                  samples_per_second, step_millis, wall_seconds
                FROM metrics WHERE run_id = ? AND stage = ? ORDER BY step
                """)) {
      ps.setString(1, runId);
      ps.setString(2, stage);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(
              new MetricRow(
                  rs.getString(1),
                  rs.getString(2),
                  rs.getLong(3),
                  rs.getLong(4),
                  rs.getDouble(5),
                  rs.getDouble(6),
                  rs.getDouble(7),
                  rs.getDouble(8),
                  rs.getDouble(9),
                  rs.getDouble(10)));
        }
      }
    }
    return out;
  }

  private void exec(String sql, Object... args) throws SQLException {
    try (Connection c = db.connection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, args);
      ps.executeUpdate();
    }
  }

  private static void bind(PreparedStatement ps, Object... args) throws SQLException {
    for (int i = 0; i < args.length; i++) {
      Object a = args[i];
      if (a == null) {
        ps.setNull(i + 1, Types.NULL);
      } else {
        ps.setObject(i + 1, a);
      }
    }
  }
}
