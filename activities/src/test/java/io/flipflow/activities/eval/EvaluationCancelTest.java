package io.flipflow.activities.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.device.DevicePool;
import io.flipflow.activities.support.Heartbeater;
import io.flipflow.activities.testing.FakeActivityContext;
import io.flipflow.activities.testing.S3Fixture;
import io.flipflow.db.PostgresFixture;
import io.flipflow.workflows.plan.EvaluationRequest;
import io.flipflow.workflows.result.CheckpointRef;
import io.temporal.client.ActivityCanceledException;
import io.temporal.failure.CanceledFailure;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cancellation reaches an evaluation between batches, and its device goes back to the pool: an
 * evaluation of 600 images cancelled before it starts stops at the first batch boundary.
 */
class EvaluationCancelTest {
  @TempDir Path work;

  @Test
  void aCancelledEvaluationStopsBetweenBatchesAndReturnsItsDevice() throws Exception {
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store();
        PostgresFixture pg = PostgresFixture.start()) {
      pg.database().migrate();
      S3Uri uri = ColourEvalFixture.write(store, "evalcancel", 600, "test", work);
      S3Uri b = S3Uri.parse("s3://evalcancel/");

      FakeActivityContext ctx = new FakeActivityContext();
      ctx.onHeartbeat(n -> new ActivityCanceledException());
      DevicePool pool = DevicePool.cpu();
      try (Heartbeater heartbeat = Heartbeater.start(ctx.context(), "start")) {
        while (!heartbeat.stopRequested()) {
          Thread.sleep(10);
        }
        EvaluationRequest request =
            new EvaluationRequest(
                "adhoc",
                new CheckpointRef(uri.toString(), 0, 0),
                List.of(b + "eval/"),
                b + "tokenizer.json",
                "test-micro",
                "cpu",
                0,
                null,
                null);
        CanceledFailure stopped =
            assertThrows(
                CanceledFailure.class,
                () ->
                    new EvaluationActivitiesImpl(store, work.resolve("eval"), pg.database(), pool)
                        .evaluate(request, "wf-eval", work.resolve("eval"), heartbeat));
        // the first batch boundary is the class prompts', before any of the 600 images
        assertTrue(
            stopped
                .getOriginalMessage()
                .contains("stopped (CANCELLED) in colours/test after 4 of 4"),
            stopped.getOriginalMessage());
      }
      assertEquals(List.<Device>of(), pool.leased(), "the lease went back");
      assertEquals(0, pg.countForRun("eval_results", "wf-eval"), "nothing half recorded");
    }
  }
}
