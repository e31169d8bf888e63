package io.flipflow.db;

import java.sql.SQLException;
import java.util.List;

/** Records the finished mask-0.5 runs the ablation view tests compare, one subgroup figure each. */
final class AblationRuns {
  private AblationRuns() {}

  /** A study of {@code runs} ({id, spec JSON, top-1 %} each), all FINISHED. */
  static void study(Database db, String study, String[][] runs) throws SQLException {
    db.studies().upsertStudy(new StudyStore.StudyRow(study, study, "r", "equal_samples", "{}"));
    for (String[] r : runs) {
      finished(db, study, r[0], r[1], Integer.parseInt(r[2]));
    }
  }

  /** Each row of {@code sql} as its columns joined by '|' (null as "null"). */
  static List<String> rows(Database db, String sql) throws SQLException {
    List<String> rows = new java.util.ArrayList<>();
    try (java.sql.Connection c = db.connection();
        java.sql.Statement s = c.createStatement();
        java.sql.ResultSet rs = s.executeQuery(sql)) {
      int columns = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        List<String> row = new java.util.ArrayList<>();
        for (int i = 1; i <= columns; i++) {
          row.add(rs.getString(i));
        }
        rows.add(String.join("|", row));
      }
    }
    return rows;
  }

  /** A FINISHED run of {@code study} with {@code specJson} and {@code top1Pct} on 100 images. */
  static void finished(Database db, String study, String id, String specJson, int top1Pct)
      throws SQLException {
    db.runs()
        .upsertRun(
            new RunStore.RunRow(
                id,
                "w",
                study,
                id,
                "tiny-emoji",
                64,
                0.5,
                128,
                6400L,
                "s3://b/t/",
                false,
                0,
                "cpu",
                specJson,
                null));
    db.runs()
        .upsertStage(
            new RunStore.StageRow(id, "pretrain", "FINISHED", 0, 60_000L, 6400L, 100.0, null));
    db.evaluations()
        .recordEvalResults(
            List.of(
                new EvalStore.EvalRow(
                    id,
                    "pretrained",
                    "c",
                    "zeroshot_classification",
                    "emoji-subgroup",
                    "unseen",
                    "full",
                    "acc1",
                    top1Pct / 100.0,
                    100)));
    db.runs().finishRun(id, "FINISHED", null, null, null);
  }
}
