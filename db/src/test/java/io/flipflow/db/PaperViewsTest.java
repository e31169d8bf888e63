package io.flipflow.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The paper's tables computed by the views from a small hand-made study. */
class PaperViewsTest {
  static PostgresFixture pg;

  @BeforeAll
  static void recordAStudy() throws SQLException {
    pg = PostgresFixture.start();
    pg.database().migrate();
    RunStore store = pg.database().runs();
    pg.database()
        .studies()
        .upsertStudy(new StudyStore.StudyRow("st", "table1a", "r", "equal_samples", "{}"));
    double[][] runs = {
      // mask, pretrain seconds, tune seconds, acc1 pretrained, acc1 tuned, acc1 masked-inference
      {0.0, 100, 0, 0.40, 0.40, 0.30},
      {0.5, 50, 5, 0.38, 0.42, 0.36},
      {0.75, 30, 5, 0.33, 0.39, 0.35},
    };
    for (double[] r : runs) {
      String id = "st-mask" + r[0];
      store.upsertRun(
          new RunStore.RunRow(
              id,
              "w",
              "st",
              id,
              "tiny-emoji",
              64,
              r[0],
              128,
              10_000L,
              "s3://b/t/",
              r[2] > 0,
              1,
              "cpu",
              "{}",
              null));
      store.upsertStage(
          new RunStore.StageRow(
              id, "pretrain", "FINISHED", 0, (long) (r[1] * 1000), 10_000L, 100.0, null));
      if (r[2] > 0) {
        store.upsertStage(
            new RunStore.StageRow(
                id, "unmasked_tune", "FINISHED", 0, (long) (r[2] * 1000), 500L, 100.0, null));
      }
      List<EvalStore.EvalRow> evals = new ArrayList<>();
      String task = "zeroshot_classification";
      evals.add(
          new EvalStore.EvalRow(
              id, "pretrained", "c", task, "emoji-subgroup", "unseen", "full", "acc1", r[3], 100));
      evals.add(
          new EvalStore.EvalRow(
              id,
              "pretrained",
              "c",
              task,
              "emoji-subgroup",
              "unseen",
              r[0] == 0 ? "mask0.5" : "mask" + r[0],
              "acc1",
              r[5],
              100));
      if (r[2] > 0) {
        evals.add(
            new EvalStore.EvalRow(
                id, "tuned", "c", task, "emoji-subgroup", "unseen", "full", "acc1", r[4], 100));
      }
      pg.database().evaluations().recordEvalResults(evals);
      store.finishRun(id, "FINISHED", null, null, null);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    pg.close();
  }

  @Test
  void table1aShowsAccuracyAndTimeAgainstUnmasked() throws SQLException {
    List<String> rows =
        query(
            "SELECT mask_ratio, top1_pct, train_seconds, time_vs_unmasked FROM v_table1a_mask_ratio"
                + " WHERE study_id = 'st' ORDER BY mask_ratio");
    assertEquals(
        List.of("0|40.00|100.0|1.000", "0.5|42.00|55.0|0.550", "0.75|39.00|35.0|0.350"), rows);
  }

  @Test
  void table1eShowsTheTuningGain() throws SQLException {
    List<String> rows =
        query(
            "SELECT mask_ratio, top1_pretrained_pct, top1_tuned_pct, gain_pct"
                + " FROM v_table1e_unmasked_tuning ORDER BY mask_ratio");
    assertEquals(List.of("0.5|38.00|42.00|4.00", "0.75|33.00|39.00|6.00"), rows);
  }

  @Test
  void table1dShowsTheMaskedInferenceDrop() throws SQLException {
    List<String> rows =
        query(
            "SELECT train_mask_ratio, inference, inference_mask_ratio, inference_views,"
                + " at_train_ratio, delta_vs_full_pct FROM v_table1d_masked_inference"
                + " WHERE inference <> 'full' ORDER BY train_mask_ratio");
    // each FLIP model masked at its own ratio; the unmasked model at 0.5
    assertEquals(
        List.of(
            "0|mask0.5|0.5|1|f|-10.00", "0.5|mask0.5|0.5|1|t|-2.00", "0.75|mask0.75|0.75|1|t|2.00"),
        rows);
  }

  @Test
  void analystsCanReadTheViews() throws SQLException {
    try (Connection c = pg.database().connection();
        Statement s = c.createStatement()) {
      s.execute("DROP ROLE IF EXISTS view_reader");
      s.execute("CREATE ROLE view_reader LOGIN IN ROLE flipflow_reader");
      s.execute("SET ROLE view_reader");
      try (ResultSet rs = s.executeQuery("SELECT count(*) FROM v_scaling")) {
        assertTrue(rs.next());
        assertEquals(3, rs.getInt(1));
      }
      s.execute("RESET ROLE");
    }
  }

  private static List<String> query(String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = pg.database().connection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        StringBuilder b = new StringBuilder();
        for (int i = 1; i <= n; i++) {
          b.append(i > 1 ? "|" : "").append(rs.getString(i));
        }
        out.add(b.toString());
      }
    }
    return out;
  }
}
