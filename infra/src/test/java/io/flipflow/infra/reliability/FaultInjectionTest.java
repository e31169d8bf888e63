package io.flipflow.infra.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import io.flipflow.activities.device.DevicePool;
import io.flipflow.activities.engine.NativeTorch;
import io.flipflow.activities.eval.EvaluationActivitiesImpl;
import io.flipflow.infra.local.LocalTemporal;
import io.flipflow.infra.reliability.ReliabilityReport.BadInputRow;
import io.flipflow.infra.reliability.ReliabilityReport.FaultRow;
import io.flipflow.infra.reliability.ReliabilityStack.Audit;
import io.flipflow.workflows.Failures;
import io.flipflow.workflows.plan.EvaluationRequest;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowStub;
import io.temporal.failure.CanceledFailure;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Issue 7's faults, each on a real pipeline run over the local stack, each asserting that the run
 * finishes (or ends as asked) with its record whole, and each writing its figure row for {@code
 * docs/reliability.md}. The methods share one stack and run in order; each stops what it started.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultInjectionTest {
  private static final String PRETRAIN = "pretrain";
  private static final long STEPS = 30;
  private static final Duration RUN_TIMEOUT = Duration.ofMinutes(8);

  @TempDir static Path dir;
  private ReliabilityStack stack;
  private WorkerProcess gpu;
  private final List<String> runIds = new ArrayList<>();
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

  @BeforeAll
  void startStack() throws Exception {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    logs.setContext(ctx);
    logs.start();
    ctx.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(logs);
    ReliabilityReport.clear();
    stack = ReliabilityStack.start(dir);
    System.out.println(
        "reliability stack: Temporal "
            + (stack.devServer ? "dev server" : "in-memory server (no temporal CLI)")
            + ", state under "
            + dir);
  }

  @AfterAll
  void stopStack() throws Exception {
    if (stack != null) {
      stack.close();
    }
    System.out.println("wrote " + ReliabilityReport.render());
  }

  private WorkflowStub start(String id, RunSpec spec) {
    runIds.add(id);
    return stack.start(id, spec);
  }

  /** The gpu worker the later faults share: started on first use, after the kill tests. */
  private WorkerProcess gpuWorker() {
    if (gpu == null) {
      gpu = stack.startWorkerProcess("gpu-worker-shared");
    }
    return gpu;
  }

  private static void assertWhole(Audit a) {
    assertEquals(a.expectedSteps(), a.stepsLogged(), "the workers' logs miss trained steps: " + a);
    assertEquals(0, a.rowsLost(), "logged steps without a metrics row: " + a);
    assertEquals(0, a.rowsUnbacked(), "metrics rows the trainers' logs do not back: " + a);
    assertEquals(0, a.checkpointsIncomplete(), "checkpoint rows for incomplete objects: " + a);
    assertEquals(1, a.stageRows(), "one stages row per stage: " + a);
    assertTrue(a.checkpointRows() > 0, "no checkpoint row: " + a);
  }

  private static double since(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }

  @Test
  @Order(1)
  void workerKilledMidPretrainingResumesFromTheNewestCheckpoint() throws Exception {
    long t0 = System.nanoTime();
    String id = "rel-worker-killed";
    WorkerProcess first = stack.startWorkerProcess("gpu-worker-killed");
    WorkflowStub run = start(id, stack.spec(id, STEPS));
    stack.awaitCheckpoint(id, PRETRAIN, 1, Duration.ofMinutes(4));
    first.kill();
    long reached = first.lastStep(id, PRETRAIN).orElseThrow();
    long newestAtKill = stack.newestCheckpointStep(id, PRETRAIN);
    long killedAt = System.nanoTime();
    WorkerProcess second = stack.startWorkerProcess("gpu-worker-after-kill");
    RunSummary summary = ReliabilityStack.result(run, RUN_TIMEOUT);
    assertEquals(RunStatus.FINISHED, summary.status(), summary.message());
    assertEquals(STEPS, summary.pretrain().steps());
    long resumed =
        second
            .resumedFrom(id, PRETRAIN)
            .orElseThrow(() -> new AssertionError("no resume:\n" + second.logText()));
    long redone = reached - resumed;
    assertEquals(newestAtKill, resumed, "must resume from the newest checkpoint recorded");
    Audit a = stack.audit(id, PRETRAIN, STEPS);
    assertWhole(a);
    assertEquals("FINISHED", a.stageStatus());
    String outcome =
        String.format(
            "killed at step %d (newest checkpoint %d); the heartbeat timeout noticed it, the"
                + " retry on a second worker process resumed from step %d; run FINISHED %.0f s"
                + " after the kill, %d metrics rows for %d steps, %d checkpoint rows all complete"
                + " in S3",
            reached,
            newestAtKill,
            resumed,
            since(killedAt),
            a.metricRows(),
            STEPS,
            a.checkpointRows());
    ReliabilityReport.fault(
        new FaultRow(
            "1-worker-killed",
            1,
            "Worker killed mid-pretraining",
            "`kill -9` of the gpu worker JVM once the first checkpoint row appeared; a second"
                + " worker JVM started",
            outcome,
            redone + " (checkpoint every " + ReliabilityStack.CHECKPOINT_EVERY + ")",
            a.rowsLost(),
            a.rowsUnbacked(),
            since(t0),
            null));
    assertTrue(redone >= 0, "resumed beyond the step reached: " + redone);
    // checkpoints are uploaded and recorded before the next step: a lost worker costs at most
    // one checkpoint interval
    assertTrue(
        redone <= ReliabilityStack.CHECKPOINT_EVERY,
        "redid " + redone + " steps, more than one checkpoint interval");
    second.terminate();
  }

  @Test
  @Order(2)
  void gracefulShutdownCheckpointsAtAStepBoundaryAndNothingIsRedone() throws Exception {
    long t0 = System.nanoTime();
    String id = "rel-worker-sigterm";
    WorkerProcess first = stack.startWorkerProcess("gpu-worker-sigterm");
    WorkflowStub run = start(id, stack.spec(id, STEPS));
    stack.awaitCheckpoint(id, PRETRAIN, 1, Duration.ofMinutes(4));
    int exit = first.terminate();
    long stoppedAt = first.lastStep(id, PRETRAIN).orElseThrow();
    long finalCheckpoint = stack.newestCheckpointStep(id, PRETRAIN);
    assertTrue(
        first.logText().contains("worker shutting down"), "no graceful stop:\n" + first.logText());
    assertEquals(stoppedAt, finalCheckpoint, "the stop must checkpoint the step it stopped at");
    WorkerProcess next = gpuWorker();
    RunSummary summary = ReliabilityStack.result(run, RUN_TIMEOUT);
    assertEquals(RunStatus.FINISHED, summary.status(), summary.message());
    long resumed =
        next.resumedFrom(id, PRETRAIN)
            .orElseThrow(() -> new AssertionError("no resume:\n" + next.logText()));
    Audit a = stack.audit(id, PRETRAIN, STEPS);
    assertWhole(a);
    ReliabilityReport.fault(
        new FaultRow(
            "2-graceful-shutdown",
            2,
            "Graceful worker shutdown",
            "SIGTERM to the gpu worker JVM mid-pretraining (its shutdown hook closes the workers)",
            String.format(
                "stopped at step %d with a checkpoint of that step, exit code %d; another worker"
                    + " resumed from step %d; run FINISHED, %d metrics rows for %d steps",
                stoppedAt, exit, resumed, a.metricRows(), STEPS),
            String.valueOf(stoppedAt - resumed),
            a.rowsLost(),
            a.rowsUnbacked(),
            since(t0),
            null));
    assertEquals(stoppedAt, resumed, "work past the shutdown checkpoint was redone");
  }

  @Test
  @Order(3)
  void cancelFromTheCliEndsCancelledWithAFinalCheckpoint() throws Exception {
    long t0 = System.nanoTime();
    String id = "rel-cancel";
    WorkerProcess worker = gpuWorker();
    // long enough that the cancel arrives mid-training
    WorkflowStub run = start(id, stack.spec(id, 2_000));
    stack.awaitCheckpoint(id, PRETRAIN, 1, Duration.ofMinutes(4));
    String how;
    if (LocalTemporal.findCli().isPresent() && stack.devServer) {
      Process cli =
          new ProcessBuilder(
                  LocalTemporal.findCli().get().toString(),
                  "workflow",
                  "cancel",
                  "--address",
                  stack.config.temporalAddress(),
                  "--workflow-id",
                  id)
              .redirectErrorStream(true)
              .start();
      String out = new String(cli.getInputStream().readAllBytes());
      assertTrue(cli.waitFor(60, TimeUnit.SECONDS));
      assertEquals(0, cli.exitValue(), out);
      how = "`temporal workflow cancel --workflow-id " + id + "`";
    } else {
      System.out.println("no temporal CLI/dev server: cancelling through the SDK client instead");
      run.cancel();
      how = "WorkflowStub.cancel() (no temporal CLI here)";
    }
    WorkflowFailedException e =
        assertThrows(
            WorkflowFailedException.class, () -> ReliabilityStack.result(run, RUN_TIMEOUT));
    assertTrue(Failures.isCancellation(e), "expected a cancellation: " + e);
    long stoppedAt = worker.lastStep(id, PRETRAIN).orElseThrow();
    assertEquals("CANCELLED", stack.text("SELECT status FROM runs WHERE run_id = ?", id));
    long finalCheckpoint =
        stack.scalar(
            "SELECT COALESCE(MAX(step), -1) FROM checkpoints WHERE run_id = ? AND stage = ?"
                + " AND is_final",
            id,
            PRETRAIN);
    Audit a = stack.audit(id, PRETRAIN, stoppedAt);
    assertWhole(a);
    ReliabilityReport.fault(
        new FaultRow(
            "3-cancel",
            3,
            "Cancel from the CLI",
            how + " mid-pretraining",
            String.format(
                "training stopped at step %d with a final checkpoint (step %d, is_final);"
                    + " run %s, stage %s, workflow Canceled",
                stoppedAt,
                finalCheckpoint,
                stack.text("SELECT status FROM runs WHERE run_id = ?", id),
                a.stageStatus()),
            "n/a",
            a.rowsLost(),
            a.rowsUnbacked(),
            since(t0),
            null));
    assertEquals(stoppedAt, finalCheckpoint, "the final checkpoint is of the step it stopped at");
    assertEquals("CANCELLED", a.stageStatus());
  }

  @Test
  @Order(4)
  void postgresRestartedMidRunLosesNoRow() throws Exception {
    long t0 = System.nanoTime();
    String id = "rel-postgres-restart";
    WorkerProcess worker = gpuWorker();
    String logBefore = worker.logText();
    WorkflowStub run = start(id, stack.spec(id, STEPS));
    stack.awaitCheckpoint(id, PRETRAIN, 1, Duration.ofMinutes(4));
    long down = System.nanoTime();
    stack.stopPostgres();
    Thread.sleep(5_000);
    stack.startPostgres();
    double downSeconds = since(down);
    RunSummary summary = ReliabilityStack.result(run, RUN_TIMEOUT);
    assertEquals(RunStatus.FINISHED, summary.status(), summary.message());
    String during = worker.logText().substring(logBefore.length());
    long deferred = count(during, "metrics not written yet");
    long queuedCheckpoints = count(during, "not recorded in Postgres yet");
    Audit a = stack.audit(id, PRETRAIN, STEPS);
    assertWhole(a);
    // the outage must not leave a checkpoint in S3 that the record does not know
    assertEquals(0, a.checkpointObjectsUnrecorded(), "checkpoints in S3 only: " + a);
    assertEquals(1, stack.highestAttempt(id, "Train"), "pretraining needed a retry: " + a);
    assertEquals("FINISHED", stack.text("SELECT status FROM runs WHERE run_id = ?", id));
    ReliabilityReport.fault(
        new FaultRow(
            "4-postgres-restart",
            4,
            "PostgreSQL restarted mid-run",
            String.format(
                "embedded PostgreSQL stopped after the first checkpoint row, started again on the"
                    + " same data folder and port (down %.1f s)",
                downSeconds),
            String.format(
                "%d metric flushes and %d checkpoint rows waited for Postgres and were written"
                    + " when it came back; %d checkpoint objects in S3, %d of them without a row;"
                    + " pretraining in %d attempt(s) (history); run FINISHED, %d metrics rows"
                    + " for %d logged steps",
                deferred,
                queuedCheckpoints,
                a.checkpointObjects(),
                a.checkpointObjectsUnrecorded(),
                stack.highestAttempt(id, "Train"),
                a.metricRows(),
                a.stepsLogged()),
            "0 (no retry needed)",
            a.rowsLost(),
            a.rowsUnbacked(),
            since(t0),
            null));
  }

  @Test
  @Order(6)
  void s3UnavailableDuringStagingIsRetried() throws Exception {
    long t0 = System.nanoTime();
    String id = "rel-s3-staging";
    gpuWorker();
    stack.stopS3();
    WorkflowStub run = start(id, stack.spec(id, 4));
    Thread.sleep(8_000);
    stack.startS3();
    RunSummary summary = ReliabilityStack.result(run, RUN_TIMEOUT);
    assertEquals(RunStatus.FINISHED, summary.status(), summary.message());
    long attempts = stack.highestStagingAttempt(id);
    Audit a = stack.audit(id, PRETRAIN, 4);
    assertWhole(a);
    ReliabilityReport.fault(
        new FaultRow(
            "5b-s3-staging",
            5,
            "S3 unavailable during staging",
            "s3proxy stopped before the run started, started again 8 s later",
            String.format(
                "staging failed while S3 was down and was retried (highest activity attempt %d);"
                    + " run FINISHED",
                attempts),
            "0",
            a.rowsLost(),
            a.rowsUnbacked(),
            since(t0),
            null));
    assertTrue(attempts > 1, "staging should have needed a retry");
  }

  @Test
  @Order(7)
  void temporalRestartedMidRunFinishes() throws Exception {
    assumeTrue(
        stack.devServer,
        "the temporal CLI is not installed: the in-memory server has no database file to"
            + " restart on; install the CLI (.ci/run does) for this fault");
    long t0 = System.nanoTime();
    String id = "rel-temporal-restart";
    gpuWorker();
    WorkflowStub run = start(id, stack.spec(id, STEPS));
    stack.awaitCheckpoint(id, PRETRAIN, 1, Duration.ofMinutes(4));
    long down = System.nanoTime();
    stack.restartTemporal();
    double restartSeconds = since(down);
    RunSummary summary = null;
    for (int i = 0; i < 20 && summary == null; i++) {
      try {
        summary = ReliabilityStack.result(run, RUN_TIMEOUT);
      } catch (io.grpc.StatusRuntimeException e) {
        Thread.sleep(1_000); // the client reconnects to the restarted server
      }
    }
    assertTrue(summary != null, "no result after the restart");
    assertEquals(RunStatus.FINISHED, summary.status(), summary.message());
    Audit a = stack.audit(id, PRETRAIN, STEPS);
    assertWhole(a);
    ReliabilityReport.fault(
        new FaultRow(
            "6-temporal-restart",
            6,
            "Temporal restarted mid-run",
            String.format(
                "dev server stopped (SIGTERM) after the first checkpoint row and started on the"
                    + " same SQLite file and port (%.1f s)",
                restartSeconds),
            String.format(
                "workers and client reconnected; run FINISHED, pretraining %d steps in %d"
                    + " attempt(s) (measured from the history)",
                summary.pretrain().steps(), stack.highestAttempt(id, "Train")),
            "0",
            a.rowsLost(),
            a.rowsUnbacked(),
            since(t0),
            null));
  }

  // --- bad input ---

  private String rejected(String id, RunSpec spec) {
    WorkflowStub run = start(id, spec);
    WorkflowFailedException e =
        assertThrows(
            WorkflowFailedException.class, () -> ReliabilityStack.result(run, RUN_TIMEOUT));
    assertFalse(e.getCause() instanceof CanceledFailure);
    return Failures.message(e);
  }

  @Test
  @Order(10)
  void invalidSpecsAreRejectedAtWorkflowStartNamingTheField() {
    RunSpec good = stack.spec("rel-bad", STEPS);
    record Case(String id, String input, RunSpec spec, String field) {}
    List<Case> cases =
        List.of(
            new Case("mask-1", "maskRatio 1.0", good.with().maskRatio(1.0).build(), "maskRatio"),
            new Case(
                "mask-negative",
                "maskRatio -0.25",
                good.with().maskRatio(-0.25).build(),
                "maskRatio"),
            new Case("batch-0", "batchSize 0", good.with().batchSize(0).build(), "batchSize"),
            new Case("no-data", "dataUri missing", good.with().dataUri(null).build(), "dataUri"),
            new Case(
                "preset-name",
                "modelPreset 'tiny emoji!'",
                good.with().modelPreset("tiny emoji!").build(),
                "modelPreset"));
    int order = 0;
    for (Case c : cases) {
      String message = rejected("rel-bad-" + c.id(), c.spec());
      ReliabilityReport.badInput(
          new BadInputRow(c.id(), ++order, c.input(), "workflow start (validation)", message));
      assertTrue(message.startsWith("invalid run spec: "), message);
      assertTrue(message.contains(c.field() + ":"), c.field() + " not named: " + message);
    }
  }

  @Test
  @Order(11)
  void badInputFoundByTheActivitiesFailsAtOnceNamingTheProblem() throws Exception {
    gpuWorker();
    RunSpec good = stack.spec("rel-bad", 2);
    String unknown =
        rejected("rel-bad-unknown-preset", good.with().modelPreset("tiny-emojii").build());
    ReliabilityReport.badInput(
        new BadInputRow(
            "unknown-preset",
            20,
            "modelPreset 'tiny-emojii' (no such preset)",
            "workflow start (checked against the workers' presets)",
            unknown));
    assertTrue(unknown.startsWith("invalid run spec: modelPreset: "), unknown);
    assertTrue(unknown.contains("tiny-emojii"), unknown);
    String size = rejected("rel-bad-image-size", good.with().imageSize(60).build());
    ReliabilityReport.badInput(
        new BadInputRow(
            "image-size",
            21,
            "imageSize 60 with tiny-emoji (64 px, patch 8)",
            "workflow start (checked against the workers' presets)",
            size));
    assertTrue(size.startsWith("invalid run spec: imageSize: 60"), size);
  }

  @Test
  @Order(12)
  void aCheckpointOfAnotherPresetIsRefused() throws Exception {
    String id = "rel-other-preset";
    String uri = stack.text("SELECT uri FROM checkpoints ORDER BY created_at DESC LIMIT 1");
    assumeTrue(uri != null, "needs a tiny-emoji checkpoint of an earlier run in this class");
    RunSpec other = stack.spec(id, STEPS).with().modelPreset("vit-b-16").imageSize(224).build();
    Path work = Files.createDirectories(dir.resolve("eval-other-preset"));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new EvaluationActivitiesImpl(stack.store, work, stack.db, DevicePool.cpu())
                    .evaluate(
                        new EvaluationRequest(
                            "adhoc",
                            new CheckpointRef(uri, STEPS, 0),
                            other.evalSetUris(),
                            "s3://" + stack.config.s3Bucket() + "/rel-data/tokenizer.json",
                            other.modelPreset(),
                            "cpu",
                            0,
                            null,
                            null),
                        id,
                        work,
                        null));
    ReliabilityReport.badInput(
        new BadInputRow(
            "other-preset",
            30,
            "evaluate a tiny-emoji checkpoint with a spec naming vit-b-16",
            "evaluation activity (non-retryable)",
            e.getMessage()));
    assertTrue(e.getMessage().contains("is of preset tiny-emoji"), e.getMessage());
  }

  @Test
  @Order(15)
  void s3UnavailableDuringCheckpointingIsRetriedAndOnlyCompleteCheckpointsAreRecorded()
      throws Exception {
    long t0 = System.nanoTime();
    String id = "rel-s3-checkpointing";
    WorkerProcess worker = gpuWorker();
    String logBefore = worker.logText();
    WorkflowStub run = start(id, stack.spec(id, STEPS));
    stack.awaitCheckpoint(id, PRETRAIN, 1, Duration.ofMinutes(4));
    stack.stopS3();
    Thread.sleep(8_000);
    stack.startS3();
    RunSummary summary = null;
    String failure = null;
    try {
      summary = ReliabilityStack.result(run, Duration.ofMinutes(3));
    } catch (Exception e) {
      failure = Failures.message(e);
    }
    String during = worker.logText().substring(logBefore.length());
    Audit a = stack.audit(id, PRETRAIN, STEPS);
    long resumes = count(during, id + " " + PRETRAIN + ": resuming from");
    String redone = "0";
    if (resumes > 0) {
      long resumed = worker.resumedFrom(id, PRETRAIN).orElseThrow();
      redone = (maxStepBefore(during, id, "resuming from") - resumed) + "";
    }
    long engineErrors = count(during, "used in an in-place operation");
    String outcome =
        summary != null
            ? String.format(
                "%d retried attempt(s) resumed from a recorded checkpoint; run %s; %d checkpoint"
                    + " rows, each the size of its S3 object (%d incomplete)",
                resumes, summary.status(), a.checkpointRows(), a.checkpointsIncomplete())
            : String.format(
                "NOT FINISHED within 3 min: the first attempt failed on its failed uploads (as it"
                    + " should) but %d retries on the same worker JVM failed in AdamW.update (DJL"
                    + " 'leaf Variable that requires grad is being used in an in-place"
                    + " operation') after resuming; %d checkpoint rows, %d incomplete in S3 (%s)",
                engineErrors, a.checkpointRows(), a.checkpointsIncomplete(), failure);
    ReliabilityReport.fault(
        new FaultRow(
            "5a-s3-checkpointing",
            5,
            "S3 unavailable during checkpointing",
            "s3proxy stopped for 8 s after the first checkpoint row, started again on the same"
                + " folder and port",
            outcome,
            redone,
            a.rowsLost(),
            a.rowsUnbacked(),
            since(t0),
            null));
    if (summary == null && failure != null && !failure.contains("terminated")) {
      try {
        run.terminate("reliability test: the run did not finish in time");
      } catch (RuntimeException ignored) {
        // it ended meanwhile
      }
    }
    assertEquals(0, a.checkpointsIncomplete(), "checkpoint rows for incomplete objects: " + a);
    assertTrue(summary != null, "the run did not finish after S3 came back: " + outcome);
    assertEquals(RunStatus.FINISHED, summary.status(), summary.message());
    assertWhole(a);
  }

  // --- security ---

  @Test
  @Order(16)
  void aRankKilledMidPretrainingRestartsTheWholeGangFromTheNewestCheckpoint() throws Exception {
    assumeTrue(
        NativeTorch.isAvailable(),
        "skipped: ranks need flipflow's native extension (c10d), not built here: "
            + NativeTorch.unavailableReason());
    long t0 = System.nanoTime();
    String id = "rel-rank-killed";
    if (gpu != null) {
      gpu.terminate(); // the gang's two workers are the only gpu workers now
      gpu = null;
    }
    Map<String, String> gang =
        Map.of(
            "FLIPFLOW_WORKER_RENDEZVOUS_HOST", "127.0.0.1",
            "FLIPFLOW_WORKER_COLLECTIVE_TIMEOUT_SECONDS", "60");
    List<WorkerProcess> workers = new ArrayList<>();
    workers.add(stack.startWorkerProcess("gpu-rank-a", "gpu", gang));
    workers.add(stack.startWorkerProcess("gpu-rank-b", "gpu", gang));
    WorkflowStub run = start(id, stack.spec(id, STEPS).withRanks(2));
    stack.awaitCheckpoint(id, PRETRAIN, 1, Duration.ofMinutes(4));
    WorkerProcess leader =
        workers.stream()
            .filter(w -> w.logText().contains("rank 0 of 2 serves the rendezvous"))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no worker serves rank 0"));
    leader.kill();
    long reached = leader.lastStep(id, PRETRAIN).orElseThrow();
    long newestAtKill = stack.newestCheckpointStep(id, PRETRAIN);
    long killedAt = System.nanoTime();
    workers.add(stack.startWorkerProcess("gpu-rank-c", "gpu", gang));
    RunSummary summary = ReliabilityStack.result(run, RUN_TIMEOUT);
    double afterKill = since(killedAt);

    assertEquals(RunStatus.FINISHED, summary.status(), summary.message());
    assertEquals(STEPS, summary.pretrain().steps());
    long gangs = workers.stream().mapToLong(w -> count(w.logText(), "serves the rendezvous")).sum();
    assertEquals(2, gangs, "one gang, killed, then one more");
    long resumed =
        workers.stream()
            .filter(w -> w != leader)
            .map(w -> w.resumedFrom(id, PRETRAIN))
            .filter(java.util.OptionalLong::isPresent)
            .mapToLong(java.util.OptionalLong::getAsLong)
            .max()
            .orElseThrow(() -> new AssertionError("the second gang did not resume"));
    assertEquals(newestAtKill, resumed, "the new gang resumes from the newest checkpoint");
    long joined = workers.stream().mapToLong(w -> count(w.logText(), "resumes from s3://")).sum();
    assertEquals(1, joined, "rank 1 of the new gang loads the checkpoint rank 0 names");
    Audit a = stack.audit(id, PRETRAIN, STEPS);
    assertWhole(a);
    assertEquals("FINISHED", a.stageStatus());
    long redone = reached - resumed;
    ReliabilityReport.fault(
        new FaultRow(
            "16-rank-killed",
            16,
            "A rank of a data-parallel gang killed",
            "`ranks: 2`, two gpu worker JVMs over Gloo; `kill -9` of the one serving rank 0"
                + " (and the rendezvous) once the first checkpoint row appeared; a third worker"
                + " JVM started",
            String.format(
                "killed at step %d (newest checkpoint %d); rank 1 lost its peer and failed,"
                    + " the pipeline cancelled the gang and started both ranks again, rank 0"
                    + " resumed from step %d and named it to rank 1; run FINISHED %.0f s after"
                    + " the kill, %d metrics rows for %d steps",
                reached, newestAtKill, resumed, afterKill, a.metricRows(), STEPS),
            redone + " (checkpoint every " + ReliabilityStack.CHECKPOINT_EVERY + ")",
            a.rowsLost(),
            a.rowsUnbacked(),
            since(t0),
            null));
    assertTrue(
        redone >= 0 && redone <= ReliabilityStack.CHECKPOINT_EVERY, "redid " + redone + " steps");
    for (WorkerProcess w : workers) {
      if (w != leader) {
        w.terminate();
      }
    }
  }

  @Test
  @Order(20)
  void noSecretInAnyHistoryOrLog() throws Exception {
    long t0 = System.nanoTime();
    List<String> secrets = List.of(stack.s3Secret, stack.postgresPassword);
    assumeTrue(!runIds.isEmpty(), "no run to scan");
    long events = 0;
    long bytes = 0;
    List<String> executions = new ArrayList<>();
    for (String id : runIds) {
      executions.add(id);
      executions.add(io.flipflow.workflows.staging.StagingWorkflow.idFor(id)); // its staging
    }
    for (String id : executions) {
      io.temporal.common.WorkflowExecutionHistory history;
      try {
        history = stack.client.fetchHistory(id);
      } catch (RuntimeException notStarted) {
        continue; // a run that failed before staging has no staging child
      }
      events += history.getEvents().size();
      String json = history.toJson(true);
      bytes += json.length();
      for (String s : secrets) {
        assertFalse(json.contains(s), "a secret is in the history of " + id);
      }
    }
    long logBytes = 0;
    for (Path log : stack.logFiles()) {
      String text = Files.readString(log);
      logBytes += text.length();
      for (String s : secrets) {
        assertFalse(text.contains(s), "a secret is in " + log);
      }
    }
    long lines = 0;
    for (ILoggingEvent ev : logs.list) {
      lines++;
      StringBuilder sb = new StringBuilder(ev.getFormattedMessage());
      for (IThrowableProxy t = ev.getThrowableProxy(); t != null; t = t.getCause()) {
        sb.append(' ').append(t.getMessage());
      }
      for (String s : secrets) {
        assertFalse(sb.toString().contains(s), "a secret is in a log line of this JVM");
      }
    }
    ReliabilityReport.fault(
        new FaultRow(
            "7-secrets",
            7,
            "Secrets scan",
            String.format(
                "the S3 secret key and a Postgres password set for this stack, searched in the"
                    + " histories of all %d runs above (%d events, %d KB JSON), %d KB of worker"
                    + " and Temporal logs and %d log events of the test JVM",
                runIds.size(), events, bytes / 1024, logBytes / 1024, lines),
            "no occurrence",
            "n/a",
            0,
            0,
            since(t0),
            null));
  }

  /** Occurrences of {@code needle} in {@code text} (log lines of a kind). */
  static long count(String text, String needle) {
    long n = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }

  /** The highest step logged for the run before the last line containing {@code marker}. */
  private static long maxStepBefore(String log, String runId, String marker) {
    int cut = log.lastIndexOf(marker);
    String before = cut < 0 ? log : log.substring(0, cut);
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile(
                java.util.regex.Pattern.quote(runId + " " + PRETRAIN + " step ") + "(\\d+)/")
            .matcher(before);
    long max = 0;
    while (m.find()) {
      max = Math.max(max, Long.parseLong(m.group(1)));
    }
    return max;
  }
}
