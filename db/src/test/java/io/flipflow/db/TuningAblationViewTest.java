package io.flipflow.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The tuning ablation groups runs by their tuning settings (from the spec, old specs as they
 * trained) and gives each setting's mean gain with its interval. Expected intervals from SciPy:
 * {@code t.ppf(0.975, 1) = 12.7062}; one run's from the binomial standard errors.
 */
class TuningAblationViewTest {

  @Test
  void eachTuningSettingGetsItsGainOverSeedsWithAnInterval() throws Exception {
    try (PostgresFixture pg = PostgresFixture.start()) {
      Database db = pg.database();
      db.migrate();
      db.studies().upsertStudy(new StudyStore.StudyRow("ta", "tuning", "r", "equal_samples", "{}"));
      String legacy =
          "{\"unmaskedTuning\": {\"enabled\": true, \"sampleFraction\": 0.05,"
              + " \"lrFactor\": 0.1}}";
      String carried =
          "{\"unmaskedTuning\": {\"enabled\": true, \"sampleFraction\": 0.2,"
              + " \"lrFactor\": 0.1, \"optimizer\": \"carried\", \"warmupFraction\": 0.0}}";
      run(db, "ta-fresh", 0, legacy, 40, 38, "FINISHED");
      run(db, "ta-carried-0", 0, carried, 40, 43, "FINISHED");
      run(db, "ta-carried-1", 1, carried, 41, 46, "FINISHED");
      run(db, "ta-carried-2", 2, carried, 41, 10, "FAILED"); // not a result
      List<String> rows = new ArrayList<>();
      try (Connection c = db.connection();
          Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "SELECT optimizer, sample_fraction, warmup_fraction, seeds, tuning_samples,"
                      + " gain_pct, gain_low_pct, gain_high_pct FROM v_tuning_ablation"
                      + " WHERE study_id = 'ta' ORDER BY optimizer")) {
        while (rs.next()) {
          List<String> row = new ArrayList<>();
          for (int i = 1; i <= 8; i++) {
            row.add(rs.getString(i));
          }
          rows.add(String.join("|", row));
        }
      }
      assertEquals(
          List.of(
              "carried|0.2|0|2|640|4.00|-8.71|16.71", "fresh|0.05|0.1|1|640|-2.00|-15.52|11.52"),
          rows);
      assertTrue(PaperTables.forStudy(db, "ta").contains(PaperTables.TUNING_ABLATION));
      assertEquals(2, PaperTables.TUNING_ABLATION.read(db, "ta").rows().size());
    }
  }

  private static void run(
      Database db,
      String id,
      long seed,
      String spec,
      int pretrainedPct,
      int tunedPct,
      String status)
      throws Exception {
    db.runs()
        .upsertRun(
            new RunStore.RunRow(
                id,
                "w",
                "ta",
                id,
                "tiny-emoji",
                64,
                0.75,
                128,
                6400L,
                "s3://b/t/",
                true,
                seed,
                "cpu",
                spec,
                null));
    db.runs()
        .upsertStage(
            new RunStore.StageRow(id, "unmasked_tune", "FINISHED", 0, 5_000L, 640L, 128.0, null));
    for (String[] phase :
        new String[][] {{"pretrained", "" + pretrainedPct}, {"tuned", "" + tunedPct}}) {
      db.evaluations()
          .recordEvalResults(
              List.of(
                  new EvalStore.EvalRow(
                      id,
                      phase[0],
                      "c-" + phase[0],
                      "zeroshot_classification",
                      "emoji-subgroup",
                      "unseen",
                      "full",
                      "acc1",
                      Integer.parseInt(phase[1]) / 100.0,
                      100)));
    }
    db.runs().finishRun(id, status, null, null, null);
  }
}
