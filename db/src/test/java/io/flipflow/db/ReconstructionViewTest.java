package io.flipflow.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Table 1f reads each run's reconstruction weight from its spec and compares it with none. */
class ReconstructionViewTest {

  @Test
  void table1fShowsEachReconstructionWeightAgainstTheRunWithoutADecoder() throws Exception {
    try (PostgresFixture pg = PostgresFixture.start()) {
      pg.database().migrate();
      String[][] runs = {
        {"tm-none", "{}", "40"},
        {"tm-w1", "{\"reconstruction\": {\"weight\": 1.0, \"decoderLayers\": 2}}", "38"},
        {"tm-w0.5", "{\"reconstruction\": {\"weight\": 0.5, \"decoderLayers\": 1}}", "41"},
      };
      AblationRuns.study(pg.database(), "tm", runs);
      List<String> rows =
          AblationRuns.rows(
              pg.database(),
              "SELECT reconstruction_weight, decoder_layers, top1_pct, delta_vs_no_decoder_pct"
                  + " FROM v_table1f_reconstruction WHERE study_id = 'tm'"
                  + " ORDER BY reconstruction_weight");
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
      assertEquals(
          List.of("tm-none|null", "tm-w1|0.9"),
          AblationRuns.rows(
              pg.database(), "SELECT run_id, reconstruction_loss FROM metrics ORDER BY run_id"));
      assertEquals(3, PaperTables.TABLE_1F.read(pg.database(), "tm").rows().size());
    }
  }
}
