package io.flipflow.db;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The views give each accuracy with its 95% interval. Reference figures from SciPy 1.17.1 (the
 * bench/openclip venv): {@code binomtest(k, n).proportion_ci(method='wilson')} and {@code
 * t.interval(0.95, k - 1, mean, sem)}.
 */
class UncertaintyViewsTest {
  private static PostgresFixture pg;

  @BeforeAll
  static void recordAStudyWithSeeds() throws SQLException {
    pg = PostgresFixture.start();
    pg.database().migrate();
    pg.database()
        .studies()
        .upsertStudy(new StudyStore.StudyRow("seeds", "table1a", "r", "equal_wall_clock", "{}"));
    // mask, seed, pretrain seconds, correct of 100 pretrained, correct of 100 tuned
    int[][] runs = {
      {0, 0, 180, 8, 9}, {50, 0, 178, 10, 12}, {50, 1, 181, 12, 11}, {50, 2, 180, 14, 15}
    };
    for (int[] r : runs) {
      String id = "seeds-mask" + r[0] + "-seed" + r[1];
      pg.database()
          .runs()
          .upsertRun(
              new RunStore.RunRow(
                  id,
                  "w",
                  "seeds",
                  id,
                  "tiny-emoji",
                  64,
                  r[0] / 100.0,
                  128,
                  65_536L,
                  "s3://b/t/",
                  true,
                  r[1],
                  "cpu",
                  "{}",
                  null));
      pg.database()
          .runs()
          .upsertStage(
              new RunStore.StageRow(
                  id, "pretrain", "FINISHED", 0, r[2] * 1000L, 10_000L, 55.0, null));
      List<EvalStore.EvalRow> evals = new ArrayList<>();
      evals.add(row(id, "pretrained", r[3] / 100.0, 100));
      evals.add(row(id, "tuned", r[4] / 100.0, 100));
      pg.database().evaluations().recordEvalResults(evals);
      pg.database().runs().finishRun(id, "FINISHED", null, null, null);
    }
    // a row recorded before n_samples existed has no interval
    pg.database()
        .runs()
        .upsertRun(
            new RunStore.RunRow(
                "old",
                "w",
                "seeds-old",
                "old",
                "tiny-emoji",
                64,
                0.5,
                128,
                65_536L,
                "s3://b/t/",
                false,
                0,
                "cpu",
                "{}",
                null));
    pg.database().evaluations().recordEvalResults(List.of(row("old", "pretrained", 0.12, null)));
    pg.database().runs().finishRun("old", "FINISHED", null, null, null);
  }

  private static EvalStore.EvalRow row(String run, String phase, double acc1, Integer n) {
    return new EvalStore.EvalRow(
        run,
        phase,
        "c",
        "zeroshot_classification",
        "emoji-subgroup",
        "unseen",
        "full",
        "acc1",
        acc1,
        n);
  }

  @AfterAll
  static void stop() throws Exception {
    pg.close();
  }

  @Test
  void wilsonIntervalsMatchScipy() throws SQLException {
    assertEquals(
        List.of("7.00|19.81", "9.54|14.84", "40.38|59.62", "|"),
        query(
            "SELECT round(wilson_low(p, n)::numeric * 100, 2), round(wilson_high(p, n)::numeric *"
                + " 100, 2) FROM (VALUES (0.12, 100), (69 / 578.0, 578), (0.5, 100), (0.12, NULL))"
                + " v(p, n)"));
  }

  @Test
  void oneRunGetsItsBinomialIntervalAndPretrainingTimeAgainstTheUnmaskedRunOfItsSeed()
      throws SQLException {
    assertEquals(
        List.of(
            "seeds-mask0-seed0|9.00|4.81|16.23|1.000",
            "seeds-mask50-seed0|12.00|7.00|19.81|0.989",
            "seeds-mask50-seed1|11.00|6.25|18.63|1.006",
            "seeds-mask50-seed2|15.00|9.31|23.28|1.000"),
        query(
            "SELECT run_id, top1_pct, top1_low_pct, top1_high_pct, pretrain_vs_unmasked"
                + " FROM v_table1a_mask_ratio WHERE study_id = 'seeds' ORDER BY run_id"));
    assertEquals(
        List.of("|"),
        query(
            "SELECT top1_low_pct, top1_high_pct FROM v_table1a_mask_ratio"
                + " WHERE study_id = 'seeds-old'"));
  }

  @Test
  void seedsOfOneGridPointGetStudentsIntervalAndALoneSeedItsBinomialOne() throws SQLException {
    // tuned top-1 over seeds 0, 1, 2 at mask 0.5: 12, 11, 15 -> SciPy: (7.4955, 17.8378)
    assertEquals(
        List.of("0|1|9.00|4.81|16.23|{0}", "0.5|3|12.67|7.50|17.84|{0,1,2}"),
        query(
            "SELECT mask_ratio, seeds, top1_pct, top1_low_pct, top1_high_pct, seed_list"
                + " FROM v_seeds_table1a WHERE study_id = 'seeds' ORDER BY mask_ratio"));
    // gains (tuned - pretrained) at mask 0.5: +2, -1, +1 -> SciPy: (-3.1279, 4.4612)
    assertEquals(
        List.of("0.5|3|0.67|-3.13|4.46"),
        query(
            "SELECT mask_ratio, seeds, gain_pct, gain_low_pct, gain_high_pct FROM v_seeds_table1e"
                + " WHERE study_id = 'seeds' AND mask_ratio = 0.5"));
  }

  @Test
  void theCliPrintsTheSeedTablesForAStudyWithSeveralSeeds() throws SQLException {
    assertEquals(
        List.of(
            PaperTables.TABLE_1A,
            PaperTables.TABLE_1A_SEEDS,
            PaperTables.TABLE_1E,
            PaperTables.TABLE_1E_SEEDS,
            PaperTables.TABLE_1D),
        PaperTables.forStudy(pg.database(), "seeds"));
    assertEquals(
        List.of(PaperTables.TABLE_1A, PaperTables.TABLE_1E, PaperTables.TABLE_1D),
        PaperTables.forStudy(pg.database(), "seeds-old"));
    for (PaperTables table : PaperTables.values()) {
      table.read(pg.database(), "seeds"); // every query runs against the views
    }
    StudyRecord.Table overSeeds = PaperTables.TABLE_1A_SEEDS.read(pg.database(), "seeds");
    assertEquals("[7.50, 17.84]", overSeeds.rows().get(1).get(5), overSeeds.rows().toString());
  }

  private static List<String> query(String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = pg.database().connection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      int columns = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        StringBuilder line = new StringBuilder();
        for (int i = 1; i <= columns; i++) {
          if (i > 1) {
            line.append('|');
          }
          String v = rs.getString(i);
          line.append(v == null ? "" : v);
        }
        out.add(line.toString());
      }
    }
    return out;
  }
}
