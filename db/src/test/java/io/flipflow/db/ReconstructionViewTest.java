package io.flipflow.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Table 1f reads each run's reconstruction weight from its spec and compares it with none. */
class ReconstructionViewTest {

  @Test
  void table1fShowsEachReconstructionWeightAgainstTheRunWithoutADecoder() throws Exception {
    try (PostgresFixture pg = PostgresFixture.start()) {
      pg.database().migrate();
      pg.database()
          .studies()
          .upsertStudy(new StudyStore.StudyRow("tm", "table1f", "r", "equal_samples", "{}"));
      String[][] runs = {
        {"tm-none", "{}", "40"},
        {"tm-w1", "{\"reconstruction\": {\"weight\": 1.0, \"decoderLayers\": 2}}", "38"},
        {"tm-w0.5", "{\"reconstruction\": {\"weight\": 0.5, \"decoderLayers\": 1}}", "41"},
      };
      for (String[] r : runs) {
        pg.database()
            .runs()
            .upsertRun(
                new RunStore.RunRow(
                    r[0],
                    "w",
                    "tm",
                    r[0],
                    "tiny-emoji",
                    64,
                    0.5,
                    128,
                    6400L,
                    "s3://b/t/",
                    false,
                    0,
                    "cpu",
                    r[1],
                    null));
        pg.database()
            .runs()
            .upsertStage(
                new RunStore.StageRow(
                    r[0], "pretrain", "FINISHED", 0, 60_000L, 6400L, 100.0, null));
        pg.database()
            .evaluations()
            .recordEvalResults(
                List.of(
                    new EvalStore.EvalRow(
                        r[0],
                        "pretrained",
                        "c",
                        "zeroshot_classification",
                        "emoji-subgroup",
                        "unseen",
                        "full",
                        "acc1",
                        Integer.parseInt(r[2]) / 100.0,
                        100)));
        pg.database().runs().finishRun(r[0], "FINISHED", null, null, null);
      }
      List<String> rows = new ArrayList<>();
      try (Connection c = pg.database().connection();
          Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "SELECT reconstruction_weight, decoder_layers, top1_pct, delta_vs_no_decoder_pct"
                      + " FROM v_table1f_reconstruction WHERE study_id = 'tm'"
                      + " ORDER BY reconstruction_weight")) {
        while (rs.next()) {
          rows.add(
              rs.getString(1)
                  + "|"
                  + rs.getString(2)
                  + "|"
                  + rs.getString(3)
                  + "|"
                  + rs.getString(4));
        }
      }
      assertEquals(List.of("0|null|40.00|0.00", "0.5|1|41.00|1.00", "1|2|38.00|-2.00"), rows);
      assertTrue(PaperTables.forStudy(pg.database(), "tm").contains(PaperTables.TABLE_1F));
      pg.database()
          .training()
          .appendMetrics(
              List.of(
                  new TrainingStore.MetricRow(
                      "tm-w1", "pretrain", 1, 128, 4.5, 14, 1e-3, 100, 50, 1.0, 0.9),
                  new TrainingStore.MetricRow(
                      "tm-none", "pretrain", 1, 128, 3.6, 14, 1e-3, 100, 50, 1.0)));
      try (Connection c = pg.database().connection();
          Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery("SELECT run_id, reconstruction_loss FROM metrics ORDER BY run_id")) {
        List<String> losses = new ArrayList<>();
        while (rs.next()) {
          losses.add(rs.getString(1) + "=" + rs.getString(2));
        }
        assertEquals(List.of("tm-none=null", "tm-w1=0.9"), losses);
      }
      assertEquals(3, PaperTables.TABLE_1F.read(pg.database(), "tm").rows().size());
    }
  }
}
