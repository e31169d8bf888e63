package io.flipflow.activities.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.device.DevicePool;
import io.flipflow.activities.testing.S3Fixture;
import io.flipflow.db.Database;
import io.flipflow.db.PostgresFixture;
import io.flipflow.db.RunStore;
import io.flipflow.workflows.plan.EvaluationRequest;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalMetric;
import io.flipflow.workflows.result.EvalReport;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pretrained checkpoint that unmasked tuning follows is evaluated on held-out concepts (and sets
 * without a concept split) only: what the ablation tables read before tuning. Every other request
 * covers every set, and so does one whose sets are all of seen concepts.
 */
class SeenSplitsBeforeTuningTest {
  @TempDir Path work;

  @Test
  void theSeenSplitsWaitForTheTunedCheckpointUnlessNothingElseIsLeft() throws Exception {
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store();
        PostgresFixture pg = PostgresFixture.start()) {
      pg.database().migrate();
      S3Uri checkpoint = ColourEvalFixture.write(store, "splits", 8, "unseen", work);
      S3Uri b = S3Uri.parse("s3://splits/");
      ColourEvalFixture.writeSet(store, b.resolve("eval/seen/"), "seen", 8);
      ColourEvalFixture.writeSet(store, b.resolve("more/all/"), "all", 8);
      ColourEvalFixture.writeSet(store, b.resolve("only-seen/seen/"), "seen", 8);
      EvaluationActivitiesImpl evaluation =
          new EvaluationActivitiesImpl(
              store, work.resolve("eval"), pg.database(), DevicePool.cpu());
      List<String> sets = List.of(b + "eval/", b + "more/");

      assertEquals(
          List.of("unseen", "all"),
          splits(
              evaluation,
              pg.database(),
              request(checkpoint, sets, "pretrained", true),
              "held-out"));
      assertEquals(
          List.of("unseen", "seen", "all"),
          splits(
              evaluation,
              pg.database(),
              request(checkpoint, sets, "pretrained", null),
              "everything"));
      assertEquals(
          List.of("seen"),
          splits(
              evaluation,
              pg.database(),
              request(checkpoint, List.of(b + "only-seen/"), "pretrained", true),
              "only-seen"));
    }
  }

  @Test
  void anEvalJsonWhoseSplitIsNoStringIsNamed() throws Exception {
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store()) {
      store.createBucket("bad-split");
      S3Uri file = S3Uri.parse("s3://bad-split/eval/x/eval.json");
      store.put(file, "{\"task\": \"zeroshot_classification\", \"split\": {}}".getBytes());
      EvaluationActivitiesImpl evaluation =
          new EvaluationActivitiesImpl(store, work, null, DevicePool.cpu());
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  evaluation.setsToEvaluate(
                      request(
                          S3Uri.parse("s3://bad-split/c.tar"),
                          List.of("s3://bad-split/eval/"),
                          "pretrained",
                          true)));
      assertTrue(e.getMessage().startsWith(file + ": not a JSON object"), e.getMessage());
    }
  }

  private static EvaluationRequest request(
      S3Uri checkpoint, List<String> sets, String phase, Boolean heldOutOnly) {
    return new EvaluationRequest(
        phase,
        new CheckpointRef(checkpoint.toString(), 0, 0),
        sets,
        "s3://splits/tokenizer.json",
        "test-micro",
        "cpu",
        0,
        null,
        0.5,
        heldOutOnly);
  }

  /** The splits the report holds top-1 for, in the order evaluated. */
  private List<String> splits(
      EvaluationActivitiesImpl evaluation, Database db, EvaluationRequest r, String run)
      throws Exception {
    db.runs()
        .upsertRun(
            new RunStore.RunRow(
                run,
                "r",
                null,
                run,
                "test-micro",
                8,
                0.5,
                4,
                8L,
                "s3://splits/",
                true,
                0,
                "cpu",
                "{}",
                null));
    EvalReport report = evaluation.evaluate(r, run, work.resolve(run), null);
    return report.metrics().stream()
        .filter(m -> m.metric().equals(EvalMetric.TOP1))
        .map(EvalMetric::split)
        .distinct()
        .toList();
  }
}
