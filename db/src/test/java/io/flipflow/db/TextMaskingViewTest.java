package io.flipflow.db;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Table 1c reads each run's text masking from its spec and compares it with the unmasked text. */
class TextMaskingViewTest {

  @Test
  void table1cShowsEachTextMaskingAgainstTheRunThatMaskedNoText() throws Exception {
    try (PostgresFixture pg = PostgresFixture.start()) {
      pg.database().migrate();
      String[][] runs = {
        {"tm-none", "{}", "40"},
        {"tm-random", "{\"textMaskRatio\": 0.5}", "38"},
        {"tm-prioritized", "{\"textMaskRatio\": 0.5, \"textMasking\": \"prioritized\"}", "41"},
      };
      AblationRuns.study(pg.database(), "tm", runs);
      List<String> rows =
          AblationRuns.rows(
              pg.database(),
              "SELECT text_mask_ratio, text_masking, top1_pct, delta_vs_unmasked_text_pct"
                  + " FROM v_table1c_text_masking WHERE study_id = 'tm'"
                  + " ORDER BY text_mask_ratio, text_masking");
      assertEquals(
          List.of("0|none|40.00|0.00", "0.5|prioritized|41.00|1.00", "0.5|random|38.00|-2.00"),
          rows);
    }
  }
}
