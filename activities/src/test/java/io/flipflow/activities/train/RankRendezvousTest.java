package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.engine.NativeTorch;
import io.flipflow.activities.engine.NativeTorchException;
import io.flipflow.activities.engine.ProcessGroup;
import io.flipflow.activities.engine.TcpStore;
import io.flipflow.activities.testing.S3Fixture;
import io.flipflow.workflows.plan.RankAssignment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Where a gang's ranks meet, and how a rank that never comes is reported. */
class RankRendezvousTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(3);
  static S3Fixture s3;
  static S3Store store;
  static final S3Uri ROOT = S3Uri.parse("s3://gangs/checkpoints/");

  @BeforeAll
  static void start() {
    s3 = S3Fixture.start();
    store = s3.store();
    store.createBucket("gangs");
  }

  @AfterAll
  static void stop() throws Exception {
    store.close();
    s3.close();
  }

  private static void assumeNative() {
    if (!NativeTorch.isAvailable()) {
      System.out.println(
          "SKIPPED (native extension unavailable): " + NativeTorch.unavailableReason());
    }
    Assumptions.assumeTrue(NativeTorch.isAvailable(), NativeTorch::unavailableReason);
  }

  @Test
  void eachGangOfEachRunMeetsAtItsOwnKey() {
    S3Uri a = RankRendezvous.location(ROOT, "run", "temporal-run-1", "pretrain", 1);
    assertEquals(
        "s3://gangs/checkpoints/run/pretrain/rendezvous/temporal-run-1-gang-1.json", a.toString());
    assertTrue(!a.equals(RankRendezvous.location(ROOT, "run", "temporal-run-1", "pretrain", 2)));
    assertTrue(!a.equals(RankRendezvous.location(ROOT, "run", "temporal-run-2", "pretrain", 1)));
    assertEquals("10.0.0.7", RankRendezvous.advertisedHost(" 10.0.0.7 "));
  }

  @Test
  void rankZeroPublishesItsAddressAndARankThatNeverArrivesIsNamed() {
    assumeNative();
    S3Uri where = RankRendezvous.location(ROOT, "lonely", "r1", "pretrain", 1);
    long t0 = System.nanoTime();
    NativeTorchException e;
    try (TcpStore served =
        RankRendezvous.join(
            store, where, new RankAssignment(0, 2, 1), "127.0.0.1", TIMEOUT, () -> false)) {
      String published = new String(store.getBytes(where), StandardCharsets.UTF_8);
      assertEquals("{\"host\":\"127.0.0.1\",\"port\":" + served.port() + "}", published);
      e =
          assertThrows(
              NativeTorchException.class,
              () -> served.processGroup(ProcessGroup.Backend.GLOO, "127.0.0.1"));
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertTrue(e.getMessage().contains("rank 1 of world size 2 never arrived"), e.getMessage());
    assertTrue(seconds >= 2.9 && seconds < 20, "failed after " + seconds + " s, timeout 3 s");
  }

  @Test
  void aRankWhoseRankZeroNeverComesFailsAfterTheTimeoutNamingTheRendezvous() {
    S3Uri where = RankRendezvous.location(ROOT, "orphan", "r1", "pretrain", 1);
    long t0 = System.nanoTime();
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                RankRendezvous.join(
                    store, where, new RankAssignment(1, 2, 1), null, TIMEOUT, () -> false));
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertTrue(
        e.getMessage().startsWith("rank 0 did not publish the rendezvous " + where),
        e.getMessage());
    assertTrue(seconds >= 2.9 && seconds < 20, "failed after " + seconds + " s, timeout 3 s");
    IllegalStateException cancelled =
        assertThrows(
            IllegalStateException.class,
            () ->
                RankRendezvous.join(
                    store,
                    where,
                    new RankAssignment(1, 2, 1),
                    null,
                    Duration.ofMinutes(5),
                    () -> true));
    assertTrue(cancelled.getMessage().startsWith("stopped while waiting"), cancelled.getMessage());
  }
}
