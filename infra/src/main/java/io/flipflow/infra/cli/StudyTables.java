package io.flipflow.infra.cli;

import io.flipflow.db.Database;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** Prints the paper's tables for a study from the Postgres views, as psql would. */
final class StudyTables {
  private StudyTables() {}

  static final String TABLE_1A =
      """
      SELECT mask_ratio, dataset, split, top1_pct, top5_pct, train_seconds, time_vs_unmasked,
             pretrain_samples
      FROM v_table1a_mask_ratio WHERE study_id = ? AND split = 'unseen'
      ORDER BY dataset, mask_ratio""";

  static final String TABLE_1E =
      """
      SELECT mask_ratio, dataset, split, top1_pretrained_pct, top1_tuned_pct, gain_pct
      FROM v_table1e_unmasked_tuning WHERE study_id = ? AND split = 'unseen'
      ORDER BY dataset, mask_ratio""";

  static final String TABLE_1D =
      """
      SELECT train_mask_ratio, phase, dataset, split, inference, top1_pct, delta_vs_full_pct
      FROM v_table1d_masked_inference WHERE study_id = ? AND split = 'unseen'
      ORDER BY dataset, train_mask_ratio, phase, inference""";

  static void print(Database db, String studyId, PrintStream out) throws SQLException {
    out.println(
        "\nTable 1a analogue: mask ratio vs zero-shot top-1 (unseen concepts) and wall-clock");
    query(db, TABLE_1A, studyId, out);
    out.println("\nTable 1e analogue: the gain of unmasked tuning");
    query(db, TABLE_1E, studyId, out);
    out.println(
        "\nTable 1d analogue: inference with masked images (single view, ensemble of views)");
    query(db, TABLE_1D, studyId, out);
  }

  static void query(Database db, String sql, String studyId, PrintStream out) throws SQLException {
    try (Connection c = db.connection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, studyId);
      try (ResultSet rs = ps.executeQuery()) {
        ResultSetMetaData md = rs.getMetaData();
        int n = md.getColumnCount();
        List<String[]> rows = new ArrayList<>();
        String[] header = new String[n];
        for (int i = 0; i < n; i++) {
          header[i] = md.getColumnLabel(i + 1);
        }
        rows.add(header);
        while (rs.next()) {
          String[] row = new String[n];
          for (int i = 0; i < n; i++) {
            String v = rs.getString(i + 1);
            row[i] = v == null ? "" : v;
          }
          rows.add(row);
        }
        int[] width = new int[n];
        for (String[] r : rows) {
          for (int i = 0; i < n; i++) {
            width[i] = Math.max(width[i], r[i].length());
          }
        }
        for (int k = 0; k < rows.size(); k++) {
          StringBuilder b = new StringBuilder(" ");
          for (int i = 0; i < n; i++) {
            b.append(String.format("%-" + width[i] + "s", rows.get(k)[i]));
            b.append(i + 1 < n ? " | " : "");
          }
          out.println(b);
          if (k == 0) {
            StringBuilder line = new StringBuilder("-");
            for (int i = 0; i < n; i++) {
              line.append("-".repeat(width[i])).append(i + 1 < n ? "-+-" : "-");
            }
            out.println(line);
          }
        }
        out.printf("(%d rows)%n", rows.size() - 1);
      }
    }
  }
}
