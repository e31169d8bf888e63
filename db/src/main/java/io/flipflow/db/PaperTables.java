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
      "Table 1a analogue: mask ratio vs zero-shot top-1 (unseen concepts) and wall-clock",
      """
      SELECT mask_ratio, dataset, split, top1_pct, top5_pct, train_seconds, time_vs_unmasked,
             pretrain_samples
      FROM v_table1a_mask_ratio WHERE study_id = ? AND split = 'unseen'
      ORDER BY dataset, mask_ratio"""),
  TABLE_1E(
      "Table 1e analogue: the gain of unmasked tuning",
      """
      SELECT mask_ratio, dataset, split, top1_pretrained_pct, top1_tuned_pct, gain_pct
      FROM v_table1e_unmasked_tuning WHERE study_id = ? AND split = 'unseen'
      ORDER BY dataset, mask_ratio"""),
  TABLE_1D(
      "Table 1d analogue: inference with masked images (single view, ensemble of views)",
      """
      SELECT train_mask_ratio, phase, dataset, split, inference, top1_pct, delta_vs_full_pct
      FROM v_table1d_masked_inference WHERE study_id = ? AND split = 'unseen'
      ORDER BY dataset, train_mask_ratio, phase, inference""");

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
