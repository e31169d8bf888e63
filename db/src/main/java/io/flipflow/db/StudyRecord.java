package io.flipflow.db;

import java.math.BigDecimal;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What a report shows, read from the run record in one go: the study, its runs, their loss curves,
 * their zero-shot accuracy and the paper's tables as the Postgres views compute them. Read only.
 */
public record StudyRecord(
    String studyId,
    String studyName,
    String studyStatus,
    String budget,
    Instant createdAt,
    Instant finishedAt,
    List<Run> runs,
    List<UnrecordedRun> unrecordedRuns,
    List<LossPoint> loss,
    List<ZeroShot> zeroShot,
    Table runSummary,
    Table table1a,
    Table table1e,
    Table table1d) {

  /**
   * A run with the per-stage figures the plots need; seconds and samples may be missing, and {@code
   * dataSamples} (the training set it used) until staging is recorded.
   */
  public record Run(
      String runId,
      String name,
      String status,
      String modelPreset,
      double maskRatio,
      int batchSize,
      Double pretrainSeconds,
      Long pretrainSamples,
      Double tuneSeconds,
      Long tuneSamples,
      Long dataSamples) {}

  /** A study child that failed before it could write its own row (only in study_runs). */
  public record UnrecordedRun(String runId, String status, String message) {}

  public record LossPoint(
      String runId, String stage, long step, long samplesSeen, double wallSeconds, double loss) {}

  /** Zero-shot classification with full images, as v_zero_shot gives it. */
  /** One zero-shot top-1 with its 95% Wilson interval over the evaluation set (null if unknown). */
  public record ZeroShot(
      String runId,
      String phase,
      String dataset,
      String split,
      double acc1,
      Double acc1Low,
      Double acc1High) {}

  /** A view's rows as printed text, null cells as null. */
  public record Table(List<String> headers, List<List<String>> rows) {}

  public static final String PRETRAIN = "pretrain";
  public static final String UNMASKED_TUNE = "unmasked_tune";
  public static final String PRETRAINED = "pretrained";
  public static final String TUNED = "tuned";

  /** All runs that name the study (failed ones included), ordered by mask ratio. */
  public static StudyRecord readStudy(Database db, String studyId) throws SQLException {
    if (studyId == null || studyId.isBlank()) {
      throw new IllegalArgumentException("study id is empty");
    }
    try (Connection c = db.connection()) {
      List<String> runIds = new ArrayList<>();
      try (PreparedStatement ps =
          c.prepareStatement("SELECT run_id FROM runs WHERE study_id = ? ORDER BY run_id")) {
        ps.setString(1, studyId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            runIds.add(rs.getString(1));
          }
        }
      }
      List<UnrecordedRun> unrecorded = new ArrayList<>();
      try (PreparedStatement ps =
          c.prepareStatement(
              """
              SELECT sr.run_id, sr.status, sr.message FROM study_runs sr
              WHERE sr.study_id = ? AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = sr.run_id)
              ORDER BY sr.run_id
              """)) {
        ps.setString(1, studyId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            unrecorded.add(new UnrecordedRun(rs.getString(1), rs.getString(2), rs.getString(3)));
          }
        }
      }
      if (runIds.isEmpty()) {
        throw new IllegalArgumentException(
            "study " + studyId + ": no runs recorded with this study id (table runs)");
      }
      StudyRecord r = read(c, studyId, runIds, unrecorded);
      try (PreparedStatement ps =
          c.prepareStatement(
              "SELECT name, status, budget, created_at, finished_at FROM studies WHERE study_id = ?")) {
        ps.setString(1, studyId);
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            return new StudyRecord(
                studyId,
                rs.getString(1),
                rs.getString(2),
                rs.getString(3),
                instant(rs, 4),
                instant(rs, 5),
                r.runs,
                r.unrecordedRuns,
                r.loss,
                r.zeroShot,
                r.runSummary,
                r.table1a,
                r.table1e,
                r.table1d);
          }
        }
      }
      return r; // a lone run may name a study whose row was never written
    }
  }

  /** Runs chosen by id, inside a study or not; every id must be recorded. */
  public static StudyRecord readRuns(Database db, List<String> runIds) throws SQLException {
    if (runIds == null || runIds.isEmpty()) {
      throw new IllegalArgumentException("run ids: the list is empty");
    }
    List<String> ids = new ArrayList<>(new LinkedHashSet<>(runIds));
    try (Connection c = db.connection()) {
      List<String> found = new ArrayList<>();
      try (PreparedStatement ps =
          c.prepareStatement("SELECT run_id FROM runs WHERE run_id = ANY(?)")) {
        ps.setArray(1, textArray(c, ids));
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            found.add(rs.getString(1));
          }
        }
      }
      List<String> missing = ids.stream().filter(id -> !found.contains(id)).toList();
      if (!missing.isEmpty()) {
        throw new IllegalArgumentException("run ids not recorded in table runs: " + missing);
      }
      return read(c, null, ids, List.of());
    }
  }

  private static StudyRecord read(
      Connection c, String studyId, List<String> runIds, List<UnrecordedRun> unrecorded)
      throws SQLException {
    Array ids = textArray(c, runIds);
    List<Run> runs = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            """
            SELECT r.run_id, r.name, r.status, r.model_preset, r.mask_ratio, r.batch_size,
                   p.wall_seconds, p.samples_seen, t.wall_seconds, t.samples_seen,
                   r.data_samples
            FROM runs r
            LEFT JOIN stages p ON p.run_id = r.run_id AND p.stage = 'pretrain'
            LEFT JOIN stages t ON t.run_id = r.run_id AND t.stage = 'unmasked_tune'
            WHERE r.run_id = ANY(?)
            ORDER BY r.mask_ratio, r.batch_size, r.model_preset, r.run_id
            """)) {
      ps.setArray(1, ids);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          runs.add(
              new Run(
                  rs.getString(1),
                  rs.getString(2),
                  rs.getString(3),
                  rs.getString(4),
                  rs.getDouble(5),
                  rs.getInt(6),
                  (Double) rs.getObject(7),
                  (Long) rs.getObject(8),
                  (Double) rs.getObject(9),
                  (Long) rs.getObject(10),
                  (Long) rs.getObject(11)));
        }
      }
    }
    List<LossPoint> loss = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            """
            SELECT run_id, stage, step, samples_seen, wall_seconds, loss FROM metrics
            WHERE run_id = ANY(?) AND stage IN ('pretrain', 'unmasked_tune')
              AND loss IS NOT NULL AND wall_seconds IS NOT NULL
              AND loss <> 'NaN'::float8 AND wall_seconds <> 'NaN'::float8
            ORDER BY run_id, stage, step
            """)) {
      ps.setArray(1, ids);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          loss.add(
              new LossPoint(
                  rs.getString(1),
                  rs.getString(2),
                  rs.getLong(3),
                  rs.getLong(4),
                  rs.getDouble(5),
                  rs.getDouble(6)));
        }
      }
    }
    List<ZeroShot> zeroShot = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            """
            SELECT run_id, phase, dataset, split, acc1, wilson_low(acc1, n_samples),
                   wilson_high(acc1, n_samples)
            FROM v_zero_shot
            WHERE run_id = ANY(?) AND phase IN ('pretrained', 'tuned') AND acc1 IS NOT NULL
            ORDER BY dataset, split, run_id, phase
            """)) {
      ps.setArray(1, ids);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          zeroShot.add(
              new ZeroShot(
                  rs.getString(1),
                  rs.getString(2),
                  rs.getString(3),
                  rs.getString(4),
                  rs.getDouble(5),
                  (Double) rs.getObject(6),
                  (Double) rs.getObject(7)));
        }
      }
    }
    Table summary =
        table(
            c,
            ids,
            """
            SELECT run_id, name, status, model_preset, mask_ratio, batch_size,
                   round(pretrain_seconds::numeric, 1), round(tune_seconds::numeric, 1),
                   round(pipeline_seconds::numeric, 1), pretrain_samples,
                   round(pretrain_samples_per_second::numeric, 1)
            FROM v_run_summary WHERE run_id = ANY(?)
            ORDER BY mask_ratio, batch_size, model_preset, run_id
            """,
            List.of(
                "run",
                "name",
                "status",
                "model",
                "mask ratio",
                "batch",
                "pretrain s",
                "tune s",
                "pipeline s",
                "samples seen",
                "samples/s"));
    Table t1a =
        table(
            c,
            ids,
            """
            SELECT mask_ratio, batch_size, model_preset, dataset, split, top1_pct,
                   '[' || top1_low_pct || ', ' || top1_high_pct || ']', top5_pct,
                   pretrain_seconds, pretrain_vs_unmasked, train_seconds, pretrain_samples, run_id
            FROM v_table1a_mask_ratio WHERE run_id = ANY(?)
            ORDER BY dataset, split, model_preset, batch_size, mask_ratio, run_id
            """,
            List.of(
                "mask ratio",
                "batch",
                "model",
                "dataset",
                "split",
                "top-1 %",
                "95% interval",
                "top-5 %",
                "pretrain s",
                "pretrain vs unmasked",
                "train s",
                "samples seen",
                "run"));
    Table t1e =
        table(
            c,
            ids,
            """
            SELECT mask_ratio, dataset, split, top1_pretrained_pct, top1_tuned_pct, gain_pct,
                   '[' || gain_low_pct || ', ' || gain_high_pct || ']', run_id
            FROM v_table1e_unmasked_tuning WHERE run_id = ANY(?)
            ORDER BY dataset, split, mask_ratio, run_id
            """,
            List.of(
                "mask ratio",
                "dataset",
                "split",
                "top-1 % pretrained",
                "top-1 % tuned",
                "gain %",
                "95% interval",
                "run"));
    Table t1d =
        table(
            c,
            ids,
            """
            SELECT train_mask_ratio, phase, dataset, split, inference, top1_pct,
                   '[' || top1_low_pct || ', ' || top1_high_pct || ']', delta_vs_full_pct, run_id
            FROM v_table1d_masked_inference WHERE run_id = ANY(?)
            ORDER BY dataset, split, phase, train_mask_ratio, run_id, (inference <> 'full'),
                     inference
            """,
            List.of(
                "train mask ratio",
                "phase",
                "dataset",
                "split",
                "inference",
                "top-1 %",
                "95% interval",
                "vs full %",
                "run"));
    return new StudyRecord(
        studyId,
        null,
        null,
        null,
        null,
        null,
        runs,
        unrecorded,
        loss,
        zeroShot,
        summary,
        t1a,
        t1e,
        t1d);
  }

  private static Table table(Connection c, Array ids, String sql, List<String> headers)
      throws SQLException {
    List<List<String>> rows = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setArray(1, ids);
      try (ResultSet rs = ps.executeQuery()) {
        int n = rs.getMetaData().getColumnCount();
        if (n != headers.size()) {
          throw new IllegalStateException(n + " columns but " + headers.size() + " headers");
        }
        while (rs.next()) {
          List<String> row = new ArrayList<>(n);
          for (int i = 1; i <= n; i++) {
            row.add(cell(rs.getObject(i)));
          }
          rows.add(row);
        }
      }
    }
    return new Table(headers, rows);
  }

  /** Numbers as the views round them; mask ratios (the only doubles) with two decimals. */
  public static String cell(Object value) {
    if (value == null) {
      return null;
    }
    if (value instanceof BigDecimal d) {
      return d.toPlainString();
    }
    if (value instanceof Double d) {
      return String.format(Locale.ROOT, "%.2f", d);
    }
    return Objects.toString(value);
  }

  private static Array textArray(Connection c, List<String> ids) throws SQLException {
    return c.createArrayOf("text", ids.toArray());
  }

  private static Instant instant(ResultSet rs, int column) throws SQLException {
    java.sql.Timestamp t = rs.getTimestamp(column);
    return t == null ? null : t.toInstant();
  }
}
