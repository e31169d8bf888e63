package io.flipflow.activities.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.device.DevicePool;
import io.flipflow.activities.support.Heartbeater;
import io.flipflow.activities.testing.FakeActivityContext;
import io.flipflow.activities.testing.S3Fixture;
import io.flipflow.db.PostgresFixture;
import io.flipflow.workflows.plan.EvaluationRequest;
import io.flipflow.workflows.result.CheckpointRef;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FLIP's Table 1d masks each model at the ratio it was trained at, before unmasked tuning; the
 * record shows which ratio. Until 2026-12-01 every model was masked at 0.5, whatever its own ratio;
 * until 2026-12-02 tuned models were ablated too.
 */
class MaskedInferenceAblationTest {
  @TempDir Path work;

  @Test
  void eachModelIsMaskedAtItsOwnTrainingRatioAndAnUnmaskedOneAtHalf() throws Exception {
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store();
        PostgresFixture pg = PostgresFixture.start()) {
      pg.database().migrate();
      S3Uri uri = ColourEvalFixture.write(store, "ablation", 16, "unseen", work);
      S3Uri b = S3Uri.parse("s3://ablation/");

      EvaluationActivitiesImpl evaluation =
          new EvaluationActivitiesImpl(
              store, work.resolve("eval"), pg.database(), DevicePool.cpu());
      for (double trainRatio : new double[] {0.75, 0.0}) {
        String run = "ablation-" + trainRatio;
        try (Connection c = pg.plainConnection();
            PreparedStatement s =
                c.prepareStatement(
                    "INSERT INTO runs (run_id, name, model_preset, image_size, mask_ratio,"
                        + " batch_size, data_uri, spec) VALUES (?, ?, 'test-micro', 8, ?, 4,"
                        + " 's3://ablation/', '{}')")) {
          s.setString(1, run);
          s.setString(2, run);
          s.setDouble(3, trainRatio);
          s.executeUpdate();
        }
        for (String phase : List.of("pretrained", "tuned")) {
          EvaluationRequest request =
              new EvaluationRequest(
                  phase,
                  new CheckpointRef(uri.toString(), 0, 0),
                  List.of(b + "eval/"),
                  b + "tokenizer.json",
                  "test-micro",
                  "cpu",
                  0,
                  run,
                  trainRatio);
          try (Heartbeater heartbeat =
              Heartbeater.start(new FakeActivityContext().context(), "start")) {
            evaluation.evaluate(
                request, run, work.resolve("eval-" + trainRatio + phase), heartbeat);
          }
        }
      }
      assertEquals(
          List.of("full", "mask0.75", "mask0.75x4"), inferences(pg, "ablation-0.75", "pretrained"));
      assertEquals(
          List.of("full", "mask0.5", "mask0.5x4"), inferences(pg, "ablation-0.0", "pretrained"));
      // the paper ablates models before unmasked tuning; a tuned model is evaluated on full images
      assertEquals(List.of("full"), inferences(pg, "ablation-0.75", "tuned"));
      assertEquals(List.of("full"), inferences(pg, "ablation-0.0", "tuned"));
      try (Connection c = pg.plainConnection();
          PreparedStatement s =
              c.prepareStatement(
                  "SELECT DISTINCT n_samples FROM eval_results WHERE run_id = 'ablation-0.75'")) {
        try (ResultSet rs = s.executeQuery()) {
          rs.next();
          assertEquals(16, rs.getInt(1), "every figure records the 16 images it is a fraction of");
          assertEquals(false, rs.next());
        }
      }
    }
  }

  private static List<String> inferences(PostgresFixture pg, String run, String phase)
      throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = pg.plainConnection();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT DISTINCT inference FROM eval_results WHERE run_id = ? AND phase = ?"
                    + " AND metric = 'acc1' ORDER BY inference")) {
      s.setString(1, run);
      s.setString(2, phase);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    }
    return out;
  }
}
