package io.flipflow.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The paper's tables of one study as the views compute them, on unseen concepts, with the views'
 * own column names: what {@code flipflow study} and the demo print.
 */
public enum PaperTables {
  TABLE_1A(
      "Table 1a analogue: mask ratio vs zero-shot top-1 (unseen concepts, 95% interval over the"
          + " evaluation set) and wall-clock",
      """
      SELECT mask_ratio, seed, dataset, split, top1_pct,
             '[' || top1_low_pct || ', ' || top1_high_pct || ']' AS top1_95pct, top5_pct,
             pretrain_seconds, pretrain_vs_unmasked, train_seconds, pretrain_samples
      FROM v_table1a_mask_ratio WHERE study_id = ? AND split = 'unseen'
      ORDER BY dataset, mask_ratio, seed"""),
  TABLE_1A_SEEDS(
      "Table 1a over seeds: mean zero-shot top-1 with Student's t 95% interval",
      """
      SELECT mask_ratio, dataset, split, seeds, top1_pct,
             '[' || top1_low_pct || ', ' || top1_high_pct || ']' AS top1_95pct, top1_sd_pct,
             pretrain_seconds, pretrain_vs_unmasked, pretrain_samples
      FROM v_seeds_table1a WHERE study_id = ? AND split = 'unseen'
      ORDER BY dataset, mask_ratio"""),
  TABLE_1E(
      "Table 1e analogue: the gain of unmasked tuning (95% interval over the evaluation set)",
      """
      SELECT mask_ratio, seed, dataset, split, top1_pretrained_pct, top1_tuned_pct, gain_pct,
             '[' || gain_low_pct || ', ' || gain_high_pct || ']' AS gain_95pct
      FROM v_table1e_unmasked_tuning WHERE study_id = ? AND split = 'unseen'
      ORDER BY dataset, mask_ratio, seed"""),
  TABLE_1E_SEEDS(
      "Table 1e over seeds: mean gain of unmasked tuning with Student's t 95% interval",
      """
      SELECT mask_ratio, dataset, split, seeds, top1_pretrained_pct, top1_tuned_pct, gain_pct,
             '[' || gain_low_pct || ', ' || gain_high_pct || ']' AS gain_95pct
      FROM v_seeds_table1e WHERE study_id = ? AND split = 'unseen'
      ORDER BY dataset, mask_ratio"""),
  TABLE_1C(
      "Table 1c analogue: text masking against the same run without it",
      """
      SELECT text_mask_ratio, text_masking, mask_ratio, seed, dataset, split, top1_pct,
             '[' || top1_low_pct || ', ' || top1_high_pct || ']' AS top1_95pct,
             delta_vs_unmasked_text_pct, pretrain_samples
      FROM v_table1c_text_masking WHERE study_id = ? AND split = 'unseen'
      ORDER BY dataset, mask_ratio, text_mask_ratio, text_masking, seed"""),
  TABLE_1F(
      "Table 1f analogue: an MAE-style reconstruction loss against the same run without it",
      """
      SELECT reconstruction_weight, decoder_layers, decoder_width, mask_ratio, seed, dataset, split,
             top1_pct, '[' || top1_low_pct || ', ' || top1_high_pct || ']' AS top1_95pct,
             delta_vs_no_decoder_pct, pretrain_seconds, pretrain_samples
      FROM v_table1f_reconstruction WHERE study_id = ? AND split = 'unseen'
      ORDER BY dataset, mask_ratio, reconstruction_weight, seed"""),
  TUNING_ABLATION(
      "Unmasked tuning ablation: the gain of each tuning setting (mean over seeds, 95% interval)",
      """
      SELECT mask_ratio, optimizer, lr_factor, sample_fraction, warmup_fraction, dataset, split,
             seeds, tuning_samples, top1_pretrained_pct, top1_tuned_pct, gain_pct,
             '[' || gain_low_pct || ', ' || gain_high_pct || ']' AS gain_95pct
      FROM v_tuning_ablation WHERE study_id = ? AND split = 'unseen'
      ORDER BY dataset, mask_ratio, optimizer, lr_factor, sample_fraction, warmup_fraction"""),
  TABLE_1D(
      "Table 1d analogue: inference with masked images (single view, ensemble of views), each"
          + " model at its own training ratio",
      """
      SELECT t.train_mask_ratio, r.seed, t.phase, t.dataset, t.split, t.inference, t.top1_pct,
             '[' || t.top1_low_pct || ', ' || t.top1_high_pct || ']' AS top1_95pct,
             t.delta_vs_full_pct
      FROM v_table1d_masked_inference t JOIN runs r ON r.run_id = t.run_id
      WHERE t.study_id = ? AND t.split = 'unseen'
      ORDER BY t.dataset, t.train_mask_ratio, r.seed, t.phase, t.inference""");

  /**
   * The tables a study prints: over seeds too where a grid point ran more than one, Table 1c where
   * a run masked text, Table 1f where a run trained a decoder, and the tuning ablation where runs
   * tuned differently.
   */
  public static List<PaperTables> forStudy(Database db, String studyId) throws SQLException {
    try (Connection c = db.connection();
        PreparedStatement ps =
            c.prepareStatement(
                """
                SELECT (SELECT coalesce(max(seeds), 0) FROM v_seeds_table1a WHERE study_id = ?),
                       EXISTS (SELECT 1 FROM runs WHERE study_id = ?
                               AND coalesce((spec ->> 'textMaskRatio')::float8, 0) > 0),
                       (SELECT count(DISTINCT spec -> 'unmaskedTuning') FROM runs
                        WHERE study_id = ?),
                       EXISTS (SELECT 1 FROM runs WHERE study_id = ?
                               AND spec -> 'reconstruction' IS NOT NULL
                               AND jsonb_typeof(spec -> 'reconstruction') = 'object')
                """)) {
      Sql.bind(ps, studyId, studyId, studyId, studyId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        boolean seeds = rs.getInt(1) > 1;
        List<PaperTables> tables = new ArrayList<>(List.of(TABLE_1A));
        if (seeds) {
          tables.add(TABLE_1A_SEEDS);
        }
        if (rs.getBoolean(2)) {
          tables.add(TABLE_1C);
        }
        if (rs.getBoolean(4)) {
          tables.add(TABLE_1F);
        }
        tables.add(TABLE_1E);
        if (seeds) {
          tables.add(TABLE_1E_SEEDS);
        }
        if (rs.getInt(3) > 1) {
          tables.add(TUNING_ABLATION);
        }
        tables.add(TABLE_1D);
        return tables;
      }
    }
  }

  private final String title;
  private final String sql;

  PaperTables(String title, String sql) {
    this.title = title;
    this.sql = sql;
  }

  public String title() {
    return title;
  }

  /** The table's rows for {@code studyId}, every cell as text ("" for null). */
  public StudyRecord.Table read(Database db, String studyId) throws SQLException {
    try (Connection c = db.connection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      Sql.bind(ps, studyId);
      try (ResultSet rs = ps.executeQuery()) {
        ResultSetMetaData md = rs.getMetaData();
        List<String> headers = new ArrayList<>();
        for (int i = 1; i <= md.getColumnCount(); i++) {
          headers.add(md.getColumnLabel(i));
        }
        List<List<String>> rows = new ArrayList<>();
        while (rs.next()) {
          List<String> row = new ArrayList<>();
          for (int i = 1; i <= headers.size(); i++) {
            String v = rs.getString(i);
            row.add(v == null ? "" : v);
          }
          rows.add(row);
        }
        return new StudyRecord.Table(headers, rows);
      }
    }
  }
}
