package io.flipflow.db;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Table 1c reads each run's text masking from its spec and compares it with the unmasked text. */
class TextMaskingViewTest {

  @Test
  void table1cShowsEachTextMaskingAgainstTheRunThatMaskedNoText() throws Exception {
    try (PostgresFixture pg = PostgresFixture.start()) {
      pg.database().migrate();
      pg.database()
          .studies()
          .upsertStudy(new StudyStore.StudyRow("tm", "table1c", "r", "equal_samples", "{}"));
      String[][] runs = {
        {"tm-none", "{}", "40"},
        {"tm-random", "{\"textMaskRatio\": 0.5}", "38"},
        {"tm-prioritized", "{\"textMaskRatio\": 0.5, \"textMasking\": \"prioritized\"}", "41"},
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
                  "SELECT text_mask_ratio, text_masking, top1_pct, delta_vs_unmasked_text_pct"
                      + " FROM v_table1c_text_masking WHERE study_id = 'tm'"
                      + " ORDER BY text_mask_ratio, text_masking")) {
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
      assertEquals(
          List.of("0|none|40.00|0.00", "0.5|prioritized|41.00|1.00", "0.5|random|38.00|-2.00"),
          rows);
    }
  }
}
