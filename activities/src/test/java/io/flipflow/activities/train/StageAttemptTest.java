package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import io.flipflow.activities.checkpoint.CheckpointStore;
import io.flipflow.activities.data.Fixtures;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.StageData;
import io.flipflow.activities.data.staging.StagedCache;
import io.flipflow.activities.data.staging.StagedManifest;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.interop.OpenClipExport;
import io.flipflow.activities.interop.OpenClipImport;
import io.flipflow.activities.model.TestPresets;
import io.flipflow.activities.support.Heartbeater;
import io.flipflow.activities.testing.FakeActivityContext;
import io.flipflow.activities.testing.S3Fixture;
import io.flipflow.db.Database;
import io.flipflow.db.PostgresFixture;
import io.flipflow.db.RunStore;
import io.flipflow.db.TrainingStore;
import io.flipflow.workflows.plan.TrainConfig;
import io.flipflow.workflows.plan.TrainConfigBuilder;
import io.flipflow.workflows.plan.TrainingPlan;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.Progress;
import io.flipflow.workflows.result.Stage;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.TrainResult;
import io.flipflow.workflows.result.TrainingHeartbeat;
import io.temporal.api.enums.v1.TimeoutType;
import io.temporal.client.ActivityCanceledException;
import io.temporal.client.ActivityNotExistsException;
import io.temporal.failure.TimeoutFailure;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One attempt of a training stage against real S3 and Postgres (embedded), driven without a
 * Temporal server: what it resumes from, what it marks final, what it keeps on disk.
 */
class StageAttemptTest {
  static S3Fixture s3;
  static S3Store store;
  static PostgresFixture pg;
  static Database db;
  static StagedDataset data;
  static Path presetFile;
  static StagedDataset tinyData;
  static Path tinyPresetFile;
  static final S3Uri CHECKPOINTS = S3Uri.parse("s3://train/checkpoints/");
  static int runs;

  @TempDir static Path shared;
  @TempDir Path work;

  @BeforeAll
  static void start() throws Exception {
    s3 = S3Fixture.start();
    store = s3.store();
    pg = PostgresFixture.start();
    db = pg.database();
    db.migrate();
    store.createBucket("train");
    S3Uri b = S3Uri.parse("s3://train/");
    Fixtures.writeShards(store, b.resolve("wds"), 2, 16);
    List<String> texts = new ArrayList<>();
    Fixtures.COLOURS.forEach(c -> texts.add("a " + c + " square"));
    store.put(b.resolve("tokenizer.json"), WordLevelVocabulary.build(texts));
    StagedManifest m =
        new StageData(store, shared.resolve("stage"))
            .stage(
                StageData.Request.of(
                    b + "wds/{00000..00001}.tar",
                    b.resolve("staged"),
                    b.resolve("tokenizer.json"),
                    32,
                    8),
                new StageData.Listener() {});
    data =
        new StagedDataset(
            S3Uri.parse(m.root()).resolve("manifest.json").toString(),
            m.samples(),
            m.resolution(),
            m.contextLength(),
            m.vocabSize(),
            m.tokenizer());
    tinyData = stageTiny(b.resolve("tokenizer.json"), "staged-tiny");
    tinyPresetFile = Path.of("..", "config", "models", "tiny-emoji.json").toAbsolutePath();
    presetFile = shared.resolve("test-micro.json");
    Files.writeString(presetFile, new Gson().toJson(TestPresets.micro()));
  }

  /** The shards staged at the tiny preset's shape (64 px, context 32) with {@code tokenizer}. */
  static StagedDataset stageTiny(S3Uri tokenizer, String name) throws Exception {
    S3Uri b = S3Uri.parse("s3://train/");
    StagedManifest tiny =
        new StageData(store, shared.resolve("stage-" + name))
            .stage(
                StageData.Request.of(
                    b + "wds/{00000..00001}.tar", b.resolve(name), tokenizer, 64, 32),
                new StageData.Listener() {});
    return tiny.asDataset();
  }

  @AfterAll
  static void stop() throws Exception {
    store.close();
    s3.close();
    pg.close();
  }

  static TrainConfig config(long steps, long checkpointEvery) {
    return TrainConfigBuilder.builder()
        .preset(presetFile.toString())
        .maskRatio(0.5)
        .batchSize(8)
        .totalSteps(steps)
        .baseLearningRate(1e-3)
        .warmupSteps(0)
        .weightDecay(0.05)
        .beta1(0.9)
        .beta2(0.98)
        .epsilon(1e-6)
        .gradClipNorm(1.0)
        .seed(3)
        .checkpointEvery(checkpointEvery)
        .metricsEvery(1)
        .build();
  }

  static TrainingPlan plan(TrainConfig config, String fingerprint) {
    return new TrainingPlan(Stage.PRETRAIN, config, data, null, "cpu", null, null, fingerprint);
  }

  /** A fresh run id per test, recorded as the pipeline records it before its stages. */
  static String newRun() throws Exception {
    String run = "stage-test-" + (++runs);
    db.runs()
        .upsertRun(
            new RunStore.RunRow(
                run,
                "r",
                null,
                run,
                "test-micro",
                32,
                0.5,
                8,
                32L,
                "s3://train/wds/",
                false,
                3,
                "cpu",
                "{}",
                null));
    return run;
  }

  TrainResult attempt(
      String run, TrainingPlan plan, FakeActivityContext ctx, TrainingSettings settings, Path dir)
      throws Exception {
    try (Heartbeater heartbeat =
        Heartbeater.start(ctx.context(), new TrainingHeartbeat(Progress.at(plan.stage()), null))) {
      StageRecorder recorder =
          new StageRecorder(
              db,
              new CheckpointStore(store),
              CHECKPOINTS,
              run,
              plan.stage(),
              plan.specFingerprint(),
              1,
              settings,
              heartbeat,
              null);
      return new StageAttempt(
              plan,
              run,
              dir,
              List.of(io.flipflow.activities.device.Devices.cpu()),
              heartbeat,
              recorder,
              store,
              new StagedCache(shared.resolve("cache"), 1L << 30),
              Optional.empty(),
              1)
          .run();
    }
  }

  TrainResult attempt(String run, TrainingPlan plan) throws Exception {
    return attempt(
        run, plan, new FakeActivityContext(), TrainingSettings.defaults(), work.resolve(run));
  }

  static List<TrainingStore.CheckpointRow> rows(String run) throws Exception {
    return db.training().checkpoints(run, "pretrain", null);
  }

  @Test
  void aRetryResumesOnlyFromCheckpointsOfItsOwnSpec() throws Exception {
    String run = newRun();
    attempt(run, plan(config(4, 2), "spec-one"));
    assertEquals(List.of("spec-one", "spec-one"), fingerprints(run));
    // the same run id asked to train another spec (the workflow refuses that at start; this is
    // the second line): it must not continue spec-one's finished schedule, it trains its own
    TrainResult other = attempt(run, plan(config(4, 2), "spec-two"));
    assertEquals(4, other.steps());
    assertEquals(
        List.of("spec-two", "spec-two"),
        fingerprints(run),
        "spec-two must have written its own checkpoints instead of resuming spec-one's");
  }

  @Test
  void aCorruptNewestCheckpointFallsBackToThePreviousComplete() throws Exception {
    String run = newRun();
    TrainingPlan plan = plan(config(4, 2), "spec-corrupt");
    attempt(run, plan);
    TrainingStore.CheckpointRow newest = rows(run).get(0);
    assertEquals(4, newest.step());
    byte[] whole = store.getBytes(S3Uri.parse(newest.uri()));
    store.put(S3Uri.parse(newest.uri()), java.util.Arrays.copyOf(whole, whole.length / 3));

    // the retry: step 4's tar is cut, so it resumes from step 2 and trains steps 3 and 4 again
    TrainResult retried = attempt(run, plan);
    assertEquals(4, retried.steps());
    TrainingStore.CheckpointRow rewritten = rows(run).get(0);
    assertEquals(4, rewritten.step());
    new CheckpointStore(store)
        .download(
            S3Uri.parse(rewritten.uri()),
            work.resolve("verify"),
            rewritten.sizeBytes(),
            rewritten.sha256()); // whole again: the retry wrote it anew

    // every checkpoint corrupt: refused, never a silent start from scratch
    for (TrainingStore.CheckpointRow r : rows(run)) {
      store.put(S3Uri.parse(r.uri()), "not a tar".getBytes());
    }
    IllegalArgumentException none =
        assertThrows(IllegalArgumentException.class, () -> attempt(run, plan));
    assertTrue(none.getMessage().contains("no usable checkpoint"), none.getMessage());
  }

  /** How Temporal tells an attempt it timed out: the server's NOT_FOUND, or the SDK itself. */
  static Stream<Arguments> timeouts() {
    return Stream.of(
        Arguments.of(
            "the server no longer knows the attempt",
            (IntFunction<RuntimeException>)
                n -> n >= 3 ? new ActivityNotExistsException("timed out", null) : null),
        // what a worker thawed after SIGSTOP saw: the SDK noticed the timeout locally, once, and
        // later heartbeats returned without a word (throttled)
        Arguments.of(
            "the SDK noticed the heartbeat timeout locally",
            (IntFunction<RuntimeException>)
                n ->
                    n == 3
                        ? new ActivityCanceledException(
                            null,
                            new TimeoutFailure(
                                "heartbeat", null, TimeoutType.TIMEOUT_TYPE_HEARTBEAT))
                        : null));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("timeouts")
  void anAttemptThatTimedOutStopsAndMarksNothingFinal(
      String how, IntFunction<RuntimeException> heartbeatAnswer) throws Exception {
    String run = newRun();
    FakeActivityContext ctx = new FakeActivityContext();
    ctx.onHeartbeat(heartbeatAnswer);
    StageAttempt.Superseded e =
        assertThrows(
            StageAttempt.Superseded.class,
            () ->
                attempt(
                    run,
                    plan(config(100_000, 5), "spec-zombie"),
                    ctx,
                    TrainingSettings.defaults(),
                    work.resolve(run)));
    assertTrue(e.getMessage().contains("nothing was marked final"), e.getMessage());
    assertFalse(rows(run).isEmpty(), "it stopped with a checkpoint");
    assertTrue(rows(run).stream().noneMatch(TrainingStore.CheckpointRow::isFinal), "" + rows(run));
  }

  @Test
  void curvesGoToTensorBoardLocallyAndBesideTheCheckpointsWithTheRecordedValues() throws Exception {
    String run = newRun();
    Path logdir = work.resolve("tensorboard");
    attempt(
        run,
        plan(config(6, 3), "spec-curves"),
        new FakeActivityContext(),
        TrainingSettings.defaults().withTensorboardDir(logdir),
        work.resolve(run));
    Path part = logdir.resolve(run).resolve("pretrain");
    List<Path> local;
    try (Stream<Path> files = Files.list(part)) {
      local = files.toList();
    }
    assertEquals(1, local.size(), "one event file for one attempt: " + local);
    List<S3Store.ObjectInfo> copied =
        store.list(CHECKPOINTS.resolve(run + "/tensorboard/pretrain/"));
    assertEquals(1, copied.size(), "copied beside the checkpoints: " + copied);
    assertEquals(
        java.util.Arrays.toString(Files.readAllBytes(local.get(0))),
        java.util.Arrays.toString(store.getBytes(copied.get(0).uri())),
        "the copy in S3 is the whole, closed file");

    List<double[]> recorded = new ArrayList<>();
    try (var c = db.connection();
        var ps =
            c.prepareStatement(
                "SELECT step, loss, learning_rate FROM metrics WHERE run_id = ? AND stage ="
                    + " 'pretrain' ORDER BY step")) {
      ps.setString(1, run);
      try (var rs = ps.executeQuery()) {
        while (rs.next()) {
          recorded.add(new double[] {rs.getLong(1), rs.getDouble(2), rs.getDouble(3)});
        }
      }
    }
    assertEquals(6, recorded.size());
    // what TensorBoard itself reads: every step's loss and learning rate as the record has them
    io.flipflow.activities.tensorboard.TensorBoardVenv.assumeInstalled();
    var scalars =
        io.flipflow.activities.tensorboard.TensorBoardVenv.run("read_events.py", part.toString())
            .getAsJsonObject("accumulator")
            .getAsJsonObject("scalars");
    var loss = scalars.getAsJsonArray("train/loss");
    var lr = scalars.getAsJsonArray("train/learning_rate");
    assertEquals(6, loss.size(), scalars.keySet().toString());
    for (int i = 0; i < 6; i++) {
      double[] row = recorded.get(i);
      assertEquals((long) row[0], loss.get(i).getAsJsonArray().get(1).getAsLong());
      assertEquals((float) row[1], loss.get(i).getAsJsonArray().get(2).getAsFloat());
      assertEquals((float) row[2], lr.get(i).getAsJsonArray().get(2).getAsFloat());
    }
    assertTrue(scalars.has("train/logit_scale") && scalars.has("train/samples_per_second"));
    assertTrue(scalars.has("train/step_ms"), scalars.keySet().toString());
  }

  /**
   * A budgeted pretraining stage on the tiny preset at 64 px stops on the clock (its schedule's own
   * length is a million steps) with its learning-rate schedule ending where it stops, not cut off
   * mid-decay, and its final checkpoint at that step. How close to the budget it ends is measured
   * on a simulated clock in {@link WallClockPaceTest}, not timed here.
   */
  @Test
  void aBudgetedStageStopsOnTheClockWithItsScheduleEndedThere() throws Exception {
    long budget = 12;
    TrainConfig config =
        config(1_000_000, 25)
            .with()
            .preset(tinyPresetFile.toString())
            .maskRatio(0.75)
            .warmupSteps(4)
            .build();
    String run = newRun();
    TrainingPlan budgeted =
        new TrainingPlan(
            Stage.PRETRAIN, config, tinyData, null, "cpu", budget, null, "spec-budget");
    TrainResult result = attempt(run, budgeted);

    assertTrue(result.steps() < 1_000_000, "never stopped: " + result.steps());
    System.out.printf(
        "budgeted stage: %d steps in %.1f s of a %d s budget%n",
        result.steps(), result.wallSeconds(), budget);
    List<double[]> lr = new ArrayList<>();
    try (var c = db.connection();
        var ps =
            c.prepareStatement(
                "SELECT step, learning_rate FROM metrics WHERE run_id = ? AND stage = 'pretrain'"
                    + " ORDER BY step")) {
      ps.setString(1, run);
      try (var rs = ps.executeQuery()) {
        while (rs.next()) {
          lr.add(new double[] {rs.getLong(1), rs.getDouble(2)});
        }
      }
    }
    assertEquals(result.steps(), (long) lr.get(lr.size() - 1)[0], "every step is recorded");
    double peak = config.peakLearningRate();
    double last = lr.get(lr.size() - 1)[1];
    // on a steady clock the last step of an N-step cosine is at peak * (1 - cos(pi / N)) / 2 (under
    // 1% of it; WallClockPaceTest); a shared machine's pace changes late in the run, so here only
    // "most of the decay was trained"
    assertTrue(
        last < 0.3 * peak,
        "the schedule was cut off at step " + result.steps() + ": lr " + last + ", peak " + peak);
    int top = 0;
    for (int i = 0; i < lr.size(); i++) {
      top = lr.get(i)[1] > lr.get(top)[1] ? i : top;
    }
    int middle = (top + lr.size() - 1) / 2;
    assertTrue(
        lr.get(middle)[1] > 0.2 * peak && lr.get(middle)[1] < 0.8 * peak,
        "half way from the peak (step "
            + (long) lr.get(top)[0]
            + ") to the stop, the cosine is near its middle: "
            + lr.get(middle)[1]
            + " of "
            + peak);
    var finalCheckpoint =
        rows(run).stream()
            .max(Comparator.comparingLong(TrainingStore.CheckpointRow::step))
            .orElseThrow();
    assertEquals(result.steps(), finalCheckpoint.step());
    assertTrue(finalCheckpoint.isFinal());
  }

  /**
   * A model that went out to OpenCLIP and came back trains as the one that left: pretraining (with
   * masking) from the imported checkpoint logs the same losses, step for step, as pretraining from
   * the checkpoint it was exported from, and not those of a fresh model.
   */
  @Test
  void aModelImportedFromOpenClipTrainsOnWithMaskingFromItsOwnWeights() throws Exception {
    TrainConfig config = config(2, 2).with().preset(tinyPresetFile.toString()).build();
    TrainResult source =
        attempt(
            newRun(),
            new TrainingPlan(
                Stage.PRETRAIN, config, tinyData, null, "cpu", null, null, "spec-source"));
    CheckpointStore checkpoints = new CheckpointStore(store);
    Path local =
        checkpoints.download(S3Uri.parse(source.checkpoint().uri()), work.resolve("import-src"));
    Path exported =
        OpenClipExport.export(local, work.resolve("exported"), null, source.checkpoint().uri())
            .dir();
    OpenClipImport.Result imported =
        OpenClipImport.importModel(exported, null, null, null, work.resolve("imported"));
    assertTrue(imported.builtIn(), "the tiny preset is recognised: " + imported.preset());
    S3Uri importedUri = CHECKPOINTS.resolve("imported/tiny.tar");
    checkpoints.upload(imported.checkpoint(), importedUri);

    // its data is staged with the tokenizer.json it now carries (OpenCLIP's HF form, other bytes
    // than the word-level file it was trained with), as flipflow import tells a user to
    S3Uri tokenizer = S3Uri.parse("s3://train/tokenizer-imported.json");
    store.put(tokenizer, Files.readAllBytes(imported.checkpoint().resolve("tokenizer.json")));
    StagedDataset restaged = stageTiny(tokenizer, "staged-imported");
    TrainConfig onward = config.with().totalSteps(3).build();
    List<Double> fromSource = losses(onward, source.checkpoint(), tinyData);
    List<Double> fromImport =
        losses(onward, new CheckpointRef(importedUri.toString(), 0, 0), restaged);
    List<Double> fresh = losses(onward, null, tinyData);
    assertEquals(3, fromImport.size(), "steps of the run from the import: " + fromImport);
    for (int i = 0; i < fromSource.size(); i++) {
      assertEquals(
          fromSource.get(i),
          fromImport.get(i),
          1e-4 * Math.abs(fromSource.get(i)),
          "step " + (i + 1) + ": " + fromSource + " vs " + fromImport);
    }
    assertTrue(
        Math.abs(fresh.get(0) - fromImport.get(0)) > 1e-3,
        "a fresh model has other losses: " + fresh + " vs " + fromImport);
  }

  /**
   * The per-step losses of a masked pretraining stage of {@code config} started from {@code from}.
   */
  List<Double> losses(TrainConfig config, CheckpointRef from, StagedDataset on) throws Exception {
    String run = newRun();
    attempt(
        run, new TrainingPlan(Stage.PRETRAIN, config, on, from, "cpu", null, null, "spec-" + run));
    List<Double> out = new ArrayList<>();
    try (var c = db.connection();
        var ps =
            c.prepareStatement(
                "SELECT loss FROM metrics WHERE run_id = ? AND stage = 'pretrain' ORDER BY step")) {
      ps.setString(1, run);
      try (var rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getDouble(1));
        }
      }
    }
    return out;
  }

  @Test
  void onlyTheNewestLocalCheckpointsAreKept() throws Exception {
    String run = newRun();
    Path dir = work.resolve(run);
    attempt(
        run,
        plan(config(6, 1), "spec-disk"),
        new FakeActivityContext(),
        TrainingSettings.defaults(),
        dir);
    try (Stream<Path> left = Files.list(dir.resolve("checkpoints"))) {
      List<String> names = left.map(p -> p.getFileName().toString()).sorted().toList();
      assertEquals(List.of("step-000000005", "step-000000006"), names);
    }
    assertEquals(6, rows(run).size(), "all six are in S3 and recorded");
  }

  @Test
  void aLoopThatStopsMakingStepsStopsBeingHeartbeated() throws Exception {
    FakeActivityContext ctx = new FakeActivityContext();
    try (Heartbeater heartbeat = Heartbeater.start(ctx.context(), "details")) {
      StallWatch watch = new StallWatch(3, Duration.ofMillis(300));
      heartbeat.watch(() -> watch.stalledReason(System.nanoTime()));
      Thread.sleep(150);
      assertEquals(Heartbeater.StopReason.NONE, heartbeat.stopReason());
      Thread.sleep(800); // no step for longer than the 300 ms floor
      assertEquals(Heartbeater.StopReason.STALLED, heartbeat.stopReason());
      int beats = ctx.heartbeats.get();
      Thread.sleep(600);
      assertEquals(beats, ctx.heartbeats.get(), "no heartbeat after the stall");
      assertFalse(heartbeat.confirmCurrent());
    }
  }

  @Test
  void theStallLimitFollowsTheStepTime() {
    StallWatch watch = new StallWatch(10, Duration.ofSeconds(1));
    long t = System.nanoTime();
    assertEquals(null, watch.stalledReason(t + 900_000_000L));
    assertTrue(watch.stalledReason(t + 1_100_000_000L) != null, "past the floor with no step");
    for (int i = 0; i < 5; i++) {
      watch.progressed(500); // 0.5 s steps: 10 of them are 5 s
    }
    long after = System.nanoTime();
    assertEquals(null, watch.stalledReason(after + 4_000_000_000L));
    String reason = watch.stalledReason(after + 6_000_000_000L);
    assertTrue(reason != null && reason.contains("median step 500 ms"), reason);
  }

  private static List<String> fingerprints(String run) throws Exception {
    return rows(run).stream().map(TrainingStore.CheckpointRow::specFingerprint).toList();
  }
}
