package io.flipflow.infra.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.activities.data.Fixtures;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.webdataset.WdsSample;
import io.flipflow.infra.reliability.ReliabilityReport.BadInputRow;
import io.flipflow.infra.reliability.ReliabilityReport.FaultRow;
import io.flipflow.infra.reliability.ReliabilityStack.Audit;
import io.flipflow.workflows.Failures;
import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowStub;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The record's trust cases on the topology a user of {@code flipflow up} has: no worker in the test
 * JVM, every queue (control, cpu, gpu) served by {@code flipflow worker} processes, as one JVM per
 * machine. Each case writes its row into {@code docs/reliability.md} with what a user sees.
 * (FaultInjectionTest runs the other faults with separate control/cpu and gpu workers.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TrustFaultsTest {
  private static final String PRETRAIN = "pretrain";
  private static final String ALL_QUEUES = "control,cpu,gpu";
  private static final Duration RUN_TIMEOUT = Duration.ofMinutes(8);

  @TempDir static Path dir;
  private ReliabilityStack stack;
  private WorkerProcess worker;

  @BeforeAll
  void startStack() throws Exception {
    ReliabilityReport.clear();
    stack = ReliabilityStack.withoutInProcessWorkers(dir);
    worker = stack.startWorkerProcess("all-queues-1", ALL_QUEUES);
  }

  @AfterAll
  void stopStack() throws Exception {
    if (stack != null) {
      stack.close();
    }
    System.out.println("wrote " + ReliabilityReport.render());
  }

  private static double since(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }

  private RunSummary finish(WorkflowStub run) throws Exception {
    RunSummary summary = ReliabilityStack.result(run, RUN_TIMEOUT);
    assertEquals(RunStatus.FINISHED, summary.status(), summary.message());
    return summary;
  }

  private String failure(WorkflowStub run) {
    WorkflowFailedException e =
        assertThrows(
            WorkflowFailedException.class, () -> ReliabilityStack.result(run, RUN_TIMEOUT));
    return Failures.message(e);
  }

  private static void assertWhole(Audit a) {
    assertEquals(a.expectedSteps(), a.stepsLogged(), "the workers' logs miss steps: " + a);
    assertEquals(0, a.rowsLost(), "logged steps without a metrics row: " + a);
    assertEquals(0, a.rowsUnbacked(), "metrics rows the trainers' logs do not back: " + a);
    assertEquals(0, a.checkpointsIncomplete(), "checkpoint rows for incomplete objects: " + a);
  }

  /** A folder of the stack's bucket next to the tokenizer, so staging finds it. */
  private S3Uri dataFolder(String name) {
    return S3Uri.parse("s3://" + stack.config.s3Bucket() + "/rel-data/" + name + "/");
  }

  @Test
  @Order(1)
  void rerunningAnEditedSpecUnderTheSameNameIsRefusedNamingTheChange() throws Exception {
    String id = "trust-edited";
    RunSpec first = stack.spec(id, 4);
    finish(stack.start(id, first));
    long rowsBefore = stack.scalar("SELECT COUNT(*) FROM metrics WHERE run_id = ?", id);
    RunSpec edited = first.with().maskRatio(0.75).steps(8L).build();
    String message = failure(stack.start(id, edited));
    ReliabilityReport.badInput(
        new BadInputRow(
            "edited-spec",
            40,
            "the same run name started again with maskRatio 0.75 and 8 steps (was 0.5, 4)",
            "workflow start (run identity)",
            message));
    assertTrue(message.contains("maskRatio"), message);
    assertEquals("0.5", stack.text("SELECT mask_ratio::text FROM runs WHERE run_id = ?", id));
    assertEquals(
        rowsBefore,
        stack.scalar("SELECT COUNT(*) FROM metrics WHERE run_id = ?", id),
        "the refused start wrote nothing");
  }

  @Test
  @Order(2)
  void lostShardsFailStagingCountedByTheirSamples() throws Exception {
    S3Uri data = dataFolder("lost");
    Fixtures.writeShards(stack.store, data, 1, 64);
    byte[] noise = new byte[64 << 10];
    new Random(7).nextBytes(noise);
    stack.store.put(data.resolve("00001.tar"), noise);
    stack.store.put(data.resolve("sizes.json"), "{\"00001.tar\": 1000}".getBytes());
    List<WdsSample> many = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      many.add(Fixtures.sample("cut" + i, "green"));
    }
    byte[] whole = Fixtures.tar(many);
    stack.store.put(data.resolve("00002.tar"), Arrays.copyOf(whole, whole.length / 2));
    stack.store.put(data.resolve("00002_stats.json"), "{\"successes\": 20000}".getBytes());
    String id = "trust-lost-shards";
    String message =
        failure(stack.start(id, stack.spec(id, 4).with().dataUri(data.toString()).build()));
    ReliabilityReport.badInput(
        new BadInputRow(
            "lost-shards",
            41,
            "one good shard of 64 samples, one of random bytes (1,000 samples by sizes.json), one"
                + " cut in half (20,000 by its _stats.json)",
            "staging (non-retryable, nothing published)",
            message));
    assertTrue(message.contains("2 lost shard(s)"), message);
    assertTrue(message.contains("nothing was published"), message);
  }

  @Test
  @Order(3)
  void aDecompressionBombIsRefusedFromItsHeaderAndTheRunGoesOn() throws Exception {
    S3Uri data = dataFolder("bomb");
    Fixtures.writeShards(stack.store, data, 2, 64);
    List<WdsSample> samples = new ArrayList<>();
    for (int i = 0; i < 63; i++) {
      samples.add(Fixtures.sample(String.format("b%04d", i), "red"));
    }
    // 20000 x 20000 RGBA: 1.49 GiB decoded, from a file of a few hundred bytes
    samples.add(Fixtures.member("bomb", Fixtures.pngHeaderOnly(20000, 20000), "a red square"));
    stack.store.put(data.resolve("00002.tar"), Fixtures.tar(samples));
    long t0 = System.nanoTime();
    String id = "trust-bomb";
    RunSummary summary =
        finish(stack.start(id, stack.spec(id, 4).with().dataUri(data.toString()).build()));
    String reason =
        stack.text("SELECT string_agg(reason, '; ') FROM data_issues WHERE sample_key = 'bomb'");
    ReliabilityReport.badInput(
        new BadInputRow(
            "decompression-bomb",
            42,
            "a 20000 x 20000 RGBA PNG (1.49 GiB decoded) among 191 good samples",
            "staging: skipped, recorded in data_issues; the run goes on",
            reason));
    assertTrue(reason != null && reason.contains("20000 x 20000"), String.valueOf(reason));
    assertEquals(191L, stack.scalar("SELECT data_samples FROM runs WHERE run_id = ?", id));
    assertTrue(summary.pretrain().steps() == 4, "" + summary.pretrain());
    System.out.printf("bomb case: %.0f s%n", since(t0));
  }

  @Test
  @Order(4)
  void twoStagingsOfTheSameNewDataAtOnceNeitherCollidesNorRetries() throws Exception {
    long t0 = System.nanoTime();
    S3Uri data = dataFolder("concurrent");
    Fixtures.writeShards(stack.store, data, 6, 16);
    WorkflowStub a =
        stack.start(
            "trust-concurrent-a",
            stack.spec("trust-concurrent-a", 2).with().dataUri(data.toString()).build());
    WorkflowStub b =
        stack.start(
            "trust-concurrent-b",
            stack.spec("trust-concurrent-b", 2).with().dataUri(data.toString()).build());
    finish(a);
    finish(b);
    long attemptsA = stack.highestStagingAttempt("trust-concurrent-a");
    long attemptsB = stack.highestStagingAttempt("trust-concurrent-b");
    long samplesA =
        stack.scalar("SELECT data_samples FROM runs WHERE run_id = ?", "trust-concurrent-a");
    long samplesB =
        stack.scalar("SELECT data_samples FROM runs WHERE run_id = ?", "trust-concurrent-b");
    ReliabilityReport.fault(
        new FaultRow(
            "8-concurrent-staging",
            8,
            "Two stagings of the same new data at once",
            "two pipelines on one fresh 6-shard set started together (one all-queue worker)",
            String.format(
                "both FINISHED; staging attempts %d and %d (history); %d and %d samples: one"
                    + " staged set, the second waited on each group's lock and reused the group",
                attemptsA, attemptsB, samplesA, samplesB),
            "n/a",
            0,
            0,
            since(t0),
            null));
    assertEquals(1, attemptsA, "staging of a needed a retry");
    assertEquals(1, attemptsB, "staging of b needed a retry");
    assertEquals(96, samplesA);
    assertEquals(samplesA, samplesB);
  }

  @Test
  @Order(5)
  void aHungPostgresLockIsNoticedAndTheRowsAreWrittenLater() throws Exception {
    long t0 = System.nanoTime();
    String id = "trust-hung-postgres";
    long steps = 16;
    String logBefore = worker.logText();
    WorkflowStub run = stack.start(id, stack.spec(id, steps));
    stack.awaitCheckpoint(id, PRETRAIN, 2, Duration.ofMinutes(4));
    // a session that holds the run's row: every insert that references it (metrics, checkpoints,
    // stages) waits for the lock, as behind a stuck migration or an analyst's open transaction
    long held;
    try (Connection c = stack.db.connection()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement("SELECT 1 FROM runs WHERE run_id = ? FOR UPDATE")) {
        ps.setString(1, id);
        ps.executeQuery().close();
      }
      long lockedAt = System.nanoTime();
      Thread.sleep(25_000);
      held = Math.round(since(lockedAt));
      c.rollback();
    }
    finish(run);
    String during = worker.logText().substring(logBefore.length());
    long timedOut = FaultInjectionTest.count(during, "lock timeout");
    Audit a = stack.audit(id, PRETRAIN, steps);
    assertWhole(a);
    ReliabilityReport.fault(
        new FaultRow(
            "9-hung-postgres",
            9,
            "PostgreSQL hangs on a lock",
            String.format(
                "another session held the run's row (SELECT ... FOR UPDATE) for %d s mid-run",
                held),
            String.format(
                "%d writes gave up after postgres.lockTimeout (worker log: \"canceling statement due"
                    + " to lock timeout\") and were written once the lock went; run FINISHED, %d"
                    + " metrics rows for %d logged steps",
                timedOut, a.metricRows(), a.stepsLogged()),
            "0",
            a.rowsLost(),
            a.rowsUnbacked(),
            since(t0),
            null));
    assertTrue(timedOut > 0, "no write hit the lock timeout:\n" + during);
  }

  @Test
  @Order(6)
  void aFrozenWorkerIsReplacedAndItsZombieAttemptMarksNothingFinal() throws Exception {
    long t0 = System.nanoTime();
    String id = "trust-zombie";
    long steps = 40;
    WorkerProcess first = worker;
    WorkerProcess second = stack.startWorkerProcess("all-queues-2", ALL_QUEUES);
    try {
      zombie(id, steps, second, t0);
    } finally {
      // one all-queue worker for the cases after this one: the one that stayed up
      if (worker != first) {
        first.close();
      }
      if (worker != second) {
        second.close();
      }
    }
  }

  private void zombie(String id, long steps, WorkerProcess second, long t0) throws Exception {
    WorkflowStub run = stack.start(id, stack.spec(id, steps));
    stack.awaitCheckpoint(id, PRETRAIN, 2, Duration.ofMinutes(4));
    WorkerProcess trainer = worker.lastStep(id, PRETRAIN).isPresent() ? worker : second;
    WorkerProcess other = trainer == worker ? second : worker;
    trainer.signal("STOP");
    long frozenAt = System.nanoTime();
    double frozen;
    try {
      // the heartbeat timeout (90 s) ends the frozen attempt; the other worker resumes the stage
      other.awaitLine(id + " " + PRETRAIN + ": resuming from", 300);
      frozen = since(frozenAt);
    } finally {
      trainer.signal("CONT");
    }
    RunSummary summary = finish(run);
    trainer.awaitLine("it is not the current attempt, so nothing was marked final", 120);
    long finals =
        stack.scalar("SELECT COUNT(*) FROM checkpoints WHERE run_id = ? AND is_final", id);
    long finalAttempt =
        stack.scalar("SELECT attempt FROM checkpoints WHERE run_id = ? AND is_final", id);
    Audit a = stack.audit(id, PRETRAIN, steps);
    assertWhole(a);
    ReliabilityReport.fault(
        new FaultRow(
            "10-zombie-attempt",
            10,
            "A frozen worker comes back (zombie attempt)",
            "SIGSTOP of the training worker JVM (one of two all-queue workers) after its"
                + " checkpoint at step 2; SIGCONT once the other had resumed",
            String.format(
                "the heartbeat timeout retried the stage on the other worker after %.0f s; the"
                    + " thawed one found its attempt superseded and stopped (\"it is not the"
                    + " current attempt, so nothing was marked final\"); %d final checkpoint, of"
                    + " attempt %d; run FINISHED with %d steps",
                frozen, finals, finalAttempt, summary.pretrain().steps()),
            a.stepsTrainedTwice() + " steps trained by both",
            a.rowsLost(),
            a.rowsUnbacked(),
            since(t0),
            null));
    assertEquals(1, finals);
    assertTrue(finalAttempt >= 2, "the final checkpoint is the zombie's: attempt " + finalAttempt);
    // keep the worker that stayed alive throughout as the one for the next case
    worker = other;
  }

  @Test
  @Order(7)
  void aCorruptNewestCheckpointFallsBackToThePreviousOne() throws Exception {
    long t0 = System.nanoTime();
    String id = "trust-corrupt-checkpoint";
    long steps = 30;
    WorkflowStub run = stack.start(id, stack.spec(id, steps));
    stack.awaitCheckpoint(id, PRETRAIN, 6, Duration.ofMinutes(4));
    worker.kill(); // the only worker, all queues: the whole `flipflow up` JVM dies
    long newest = stack.newestCheckpointStep(id, PRETRAIN);
    String uri =
        stack.text(
            "SELECT uri FROM checkpoints WHERE run_id = ? AND stage = ? AND step = ?",
            id,
            PRETRAIN,
            newest);
    byte[] bytes = stack.store.getBytes(S3Uri.parse(uri));
    stack.store.put(S3Uri.parse(uri), Arrays.copyOf(bytes, bytes.length / 3));
    worker = stack.startWorkerProcess("all-queues-after-kill", ALL_QUEUES);
    RunSummary summary = finish(run);
    WorkerProcess restarted = worker;
    long resumed =
        restarted
            .resumedFrom(id, PRETRAIN)
            .orElseThrow(() -> new AssertionError("no resume:\n" + restarted.logText()));
    restarted.awaitLine("is not usable, falling back to the one before", 10);
    Audit a = stack.audit(id, PRETRAIN, steps);
    assertWhole(a);
    ReliabilityReport.fault(
        new FaultRow(
            "11-corrupt-checkpoint",
            11,
            "Newest checkpoint corrupt, whole worker JVM killed",
            String.format(
                "`kill -9` of the only worker (control, cpu and gpu queues in one JVM) after the"
                    + " checkpoint at step %d; that object cut to a third in S3; a new worker JVM",
                newest),
            String.format(
                "the retry found step %d's checkpoint unusable (\"is not usable, falling back to"
                    + " the one before\") and resumed from step %d; run FINISHED with %d steps",
                newest, resumed, summary.pretrain().steps()),
            a.stepsTrainedTwice() + " steps trained twice",
            a.rowsLost(),
            a.rowsUnbacked(),
            since(t0),
            null));
    assertTrue(resumed < newest, "resumed from the corrupt step " + resumed);
  }
}
