package io.flipflow.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.plan.RunPlans;
import io.flipflow.workflows.plan.TrainConfig;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalMetric;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.result.Progress;
import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.result.Stage;
import io.flipflow.workflows.result.TrainResult;
import io.flipflow.workflows.spec.Reconstruction;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.StudyAxes;
import io.flipflow.workflows.spec.StudyBudget;
import io.flipflow.workflows.spec.StudyCell;
import io.flipflow.workflows.spec.StudySpec;
import io.flipflow.workflows.spec.UnmaskedTuning;
import io.temporal.api.common.v1.Payload;
import io.temporal.common.converter.DataConverter;
import io.temporal.common.converter.DefaultDataConverter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpecTest {
  private static final DataConverter CONVERTER = DefaultDataConverter.STANDARD_INSTANCE;

  @Test
  void validTinyRunHasNoProblemsAndGetsDefaults() {
    RunSpec spec = TestStack.tinyRun("ok", 0.75);
    assertEquals(List.of(), spec.validate());
    assertEquals(0.2, spec.weightDecay());
    assertEquals("cpu", spec.device());
    assertTrue(spec.unmaskedTuning().enabled());
    assertEquals(0.05, spec.unmaskedTuning().sampleFraction());
    assertEquals(0.1, spec.unmaskedTuning().lrFactor());
    assertEquals("carried", spec.unmaskedTuning().optimizer());
    assertTrue(spec.unmaskedTuning().carriesOptimizer());
    assertEquals(6400, spec.scheduleSamples());
  }

  @Test
  void aSpecThatNamesNoOptimizerSettingsTrainsWithFlipsRecipe() {
    TrainConfig config = RunPlans.pretrainingConfig(TestStack.tinyRun("recipe", 0.5));
    assertEquals(0.9, config.beta1());
    assertEquals(0.95, config.beta2());
    assertEquals(0.0, config.gradClipNorm(), "FLIP clips no gradients");
    assertEquals(0.2, config.weightDecay());
    assertEquals(100, config.totalSteps());
    assertEquals(5, config.warmupSteps(), "warmup: a twentieth of the 6,400-sample schedule");
    assertEquals(1e-3 * 64 / 256, config.peakLearningRate(), 1e-12, "learning rate per 256");

    TrainConfig clipRecipe =
        RunPlans.pretrainingConfig(
            TestStack.tinyRun("clip-recipe", 0.5)
                .with()
                .adamBeta2(0.98)
                .gradClipNorm(1.0)
                .warmupSamples(0L)
                .build());
    assertEquals(0.98, clipRecipe.beta2());
    assertEquals(1.0, clipRecipe.gradClipNorm());
    assertEquals(0, clipRecipe.warmupSteps());
  }

  @Test
  void everyBadFieldIsNamed() {
    RunSpec bad =
        new RunSpec(
            " ",
            " ",
            "tiny emoji!",
            "http://x",
            List.of("s3://ok-bucket/e/", "S3://Bad"),
            0,
            -0.1,
            -1,
            5L,
            10L,
            0L,
            0.0,
            -1L,
            -0.5,
            1.0,
            -1.0,
            1.0,
            "all",
            null,
            0,
            "gpu",
            new UnmaskedTuning(true, 0.0, 2.0),
            0L,
            "fp8",
            null,
            "s3://flipflow/models/not-a-checkpoint",
            null,
            "flash",
            0,
            "sequential",
            0,
            "seen");
    List<String> problems = bad.validate();
    for (String field :
        List.of(
            "name:",
            "studyId:",
            "modelPreset:",
            "dataUri:",
            "evalSetUris[1]:",
            "imageSize:",
            "maskRatio:",
            "batchSize:",
            "steps/samples:",
            "dataSamples:",
            "baseLr:",
            "warmupSamples:",
            "weightDecay:",
            "adamBeta2:",
            "gradClipNorm:",
            "textMaskRatio:",
            "textMasking:",
            "checkpointIntervalSteps:",
            "device:",
            "unmaskedTuning.sampleFraction:",
            "unmaskedTuning.lrFactor:",
            "wallClockBudgetSeconds:",
            "precision:",
            "initFrom:",
            "attention:",
            "ranks:",
            "dataSampling:",
            "dataStreams:",
            "evalBeforeTuning:")) {
      assertTrue(problems.stream().anyMatch(p -> p.startsWith(field)), field + " in " + problems);
    }
    assertEquals(29, problems.size(), String.join("\n", problems));
  }

  @Test
  void ranksSplitTheBatchOfOneRunAndLeaveItsIdentityAlone() {
    RunSpec one = TestStack.tinyRun("r", 0.5);
    RunSpec two = one.withRanks(2);
    assertEquals(List.of(), two.validate());
    assertEquals(2, two.worldSize());
    assertEquals(1, one.worldSize());
    assertEquals(one.fingerprint(), two.fingerprint(), "ranks train the same run");
    assertTrue(
        one.withRanks(3).validate().stream()
            .anyMatch(p -> p.startsWith("ranks: the batch of " + one.batchSize())),
        "a batch that does not split: " + one.withRanks(3).validate());
    assertTrue(
        two.withDevice("cuda:0,1").validate().stream()
            .anyMatch(p -> p.startsWith("device:") && p.contains("set ranks")),
        "in-process device groups are gone");
    assertTrue(
        two.withReconstruction(new Reconstruction(null, null, null)).validate().stream()
            .anyMatch(p -> p.contains("Table 1f")));
    assertTrue(one.withRanks(RunSpec.MAX_RANKS + 1).validate().get(0).startsWith("ranks: must be"));
  }

  @Test
  void initFromStartsPretrainingFromACheckpointAndLeavesOtherFingerprintsAlone() {
    RunSpec plain = TestStack.tinyRun("m", 0.5);
    RunSpec fromModel = plain.withInitFrom("s3://flipflow/models/vit-tiny.tar");
    assertEquals(List.of(), fromModel.validate());
    assertNotEquals(plain.fingerprint(), fromModel.fingerprint());
    // a spec without the field hashes as it would had the field never existed (no "initFrom":
    // null). Pinned: the value since FLIP's recipe (adamBeta2, gradClipNorm, default warmup) joined
    // the identity, as it must: the same spec under another recipe trains another model.
    // (4e4d42d4... before that, on the commits before and after initFrom.) Since unmasked tuning
    // carries the optimizer over by default, that is the spec that says "fresh"; leaving it out
    // is another run.
    RunSpec freshTuning =
        plain.withUnmaskedTuning(new UnmaskedTuning(null, null, null, "fresh", null));
    assertEquals(
        "712da2c7825be81b85eb8b5722f68799618da4cf734ecafdc98af07d56b545d3",
        freshTuning.fingerprint());
    assertNotEquals(freshTuning.fingerprint(), plain.fingerprint());
    var data =
        new io.flipflow.workflows.result.StagedDataset(
            "s3://b/staged/manifest.json", 10, 64, 32, 100, null);
    assertEquals(null, RunPlans.pretraining(plain, data).initFrom());
    var plan = RunPlans.pretraining(fromModel, data);
    assertEquals("s3://flipflow/models/vit-tiny.tar", plan.initFrom().uri());
    assertEquals(0, plan.initFrom().step());
  }

  @Test
  void theEvaluationBeforeTuningLeavesOutSeenConceptsUnlessAskedForAll() {
    RunSpec plain = TestStack.tinyRun("m", 0.5);
    var data =
        new io.flipflow.workflows.result.StagedDataset(
            "s3://b/staged/manifest.json", 10, 64, 32, 100, null);
    var checkpoint = new io.flipflow.workflows.result.CheckpointRef("s3://b/c.tar", 4, 64);
    assertTrue(plain.unmaskedTuning().enabled());
    assertTrue(RunPlans.evaluation(plain, data, checkpoint, "pretrained").leavesOutSeenSplits());
    assertFalse(RunPlans.evaluation(plain, data, checkpoint, "tuned").leavesOutSeenSplits());
    RunSpec untuned = plain.withUnmaskedTuning(UnmaskedTuning.disabled());
    assertFalse(
        RunPlans.evaluation(untuned, data, checkpoint, "pretrained").leavesOutSeenSplits(),
        "without tuning the pretrained evaluation is the run's last");
    RunSpec all = plain.withEvalBeforeTuning("all");
    assertEquals(List.of(), all.validate());
    assertFalse(RunPlans.evaluation(all, data, checkpoint, "pretrained").leavesOutSeenSplits());
    // the default written out is the run left out; all measures more, so it is another run
    assertEquals(plain.fingerprint(), plain.withEvalBeforeTuning("held_out").fingerprint());
    assertNotEquals(plain.fingerprint(), all.fingerprint());
    assertEquals(
        List.of("evalBeforeTuning: must be held_out or all, or left out for held_out, got 'Seen'"),
        plain.withEvalBeforeTuning("Seen").validate());
  }

  @Test
  void resampledDataIsAnotherRunAndReachesBothTrainingStages() {
    RunSpec plain = TestStack.tinyRun("m", 0.5);
    RunSpec resampled = plain.withDataSampling("resampled");
    assertEquals(List.of(), resampled.validate());
    assertNotEquals(plain.fingerprint(), resampled.fingerprint());
    // written out as the default, it is the same run as left out
    assertEquals(plain.fingerprint(), plain.withDataSampling("shuffled").fingerprint());
    var data =
        new io.flipflow.workflows.result.StagedDataset(
            "s3://b/staged/manifest.json", 10, 64, 32, 100, null);
    assertEquals(null, RunPlans.pretraining(plain, data).dataSampling());
    assertEquals("resampled", RunPlans.pretraining(resampled, data).dataSampling());
    var pretrained = new io.flipflow.workflows.result.CheckpointRef("s3://b/c.tar", 4, 64);
    assertEquals("resampled", RunPlans.tuning(resampled, data, pretrained).dataSampling());
  }

  @Test
  void dataStreamsSplitTheBatchAndTheRanksAndAreAnotherRunAboveOne() {
    RunSpec plain = TestStack.tinyRun("m", 0.5).withBatchSize(32);
    RunSpec streams = plain.withDataStreams(4).withRanks(2);
    assertEquals(List.of(), streams.validate());
    assertNotEquals(plain.fingerprint(), plain.withDataStreams(4).fingerprint());
    assertEquals(plain.fingerprint(), plain.withDataStreams(1).fingerprint());
    // ranks stay out of the identity: the same streams on 2 or 4 ranks are one run
    assertEquals(streams.fingerprint(), streams.withRanks(4).fingerprint());
    assertEquals(
        List.of("dataStreams: 4 streams do not split evenly over 3 ranks; use a multiple of ranks"),
        plain.withDataStreams(4).withRanks(3).withBatchSize(48).validate());
    assertEquals(
        List.of("dataStreams: the batch of 32 does not split evenly over 5 streams"),
        plain.withDataStreams(5).validate());
    var data =
        new io.flipflow.workflows.result.StagedDataset(
            "s3://b/staged/manifest.json", 10, 64, 32, 100, null);
    assertEquals(4, RunPlans.pretraining(streams, data).streamCount());
    assertEquals(1, RunPlans.pretraining(plain, data).streamCount());
  }

  @Test
  void maskRatioBoundsAreHalfOpen() {
    assertEquals(List.of(), TestStack.tinyRun("m", 0.0).validate());
    assertEquals(List.of(), TestStack.tinyRun("m", 0.99).validate());
    assertEquals(
        List.of("maskRatio: must be in [0, 1), got 1.0"), TestStack.tinyRun("m", 1.0).validate());
    assertEquals(
        List.of("maskRatio: must be in [0, 1), got NaN"),
        TestStack.tinyRun("m", Double.NaN).validate());
  }

  @Test
  void dataUriAcceptsPrefixesAndBracePatternsOnly() {
    for (String ok :
        List.of("s3://flipflow/emoji/train/", "s3://b-1.x/p/{00000..00041}.tar", "s3://bkt")) {
      assertEquals(
          List.of(), TestStack.tinyRun("u", 0.5).with().dataUri(ok).build().validate(), ok);
    }
    for (String bad :
        List.of(
            "",
            "/data/train",
            "s3://B/x",
            "s3://b/{1..3}.tar",
            "s3://bkt/{00041..00000}.tar",
            "s3://bkt/{a,b}.tar")) {
      List<String> problems = TestStack.tinyRun("u", 0.5).with().dataUri(bad).build().validate();
      assertEquals(1, problems.size(), bad + " -> " + problems);
      assertTrue(problems.get(0).startsWith("dataUri: "), problems.get(0));
    }
  }

  @Test
  void studyGridIsDeterministicWithStableIdsAndAppliesTheBudget() {
    StudySpec study =
        new StudySpec(
            "s",
            null,
            TestStack.tinyRun("base", 0.0).with().wallClockBudgetSeconds(99L).build(),
            new StudyAxes(
                List.of("tiny-emoji", "small-emoji"),
                null,
                List.of(1000L),
                List.of(0.0, 0.875),
                null,
                null,
                null,
                null,
                null),
            null,
            StudyBudget.EQUAL_WALL_CLOCK,
            120L,
            null,
            null);
    assertEquals(List.of(), study.validate());
    List<StudyCell> cells = study.expand();
    assertEquals(
        List.of(
            "s-tiny-emoji-mask0", "s-tiny-emoji-mask87.5",
            "s-small-emoji-mask0", "s-small-emoji-mask87.5"),
        cells.stream().map(StudyCell::workflowId).toList());
    assertEquals(cells, study.expand(), "same grid every time");
    RunSpec last = cells.get(3).spec();
    assertEquals("s-small-emoji-mask87.5", last.name());
    assertEquals("s", last.studyId());
    assertEquals("small-emoji", last.modelPreset());
    assertEquals(0.875, last.maskRatio());
    assertEquals(1000L, last.samples());
    assertNull(last.steps());
    assertEquals(120L, last.wallClockBudgetSeconds());

    StudySpec equalSamples =
        new StudySpec("s", null, study.baseRun(), study.axes(), null, null, null, null, null);
    assertNull(equalSamples.expand().get(0).spec().wallClockBudgetSeconds());
  }

  @Test
  void aSeedsAxisRepeatsEveryGridPointAndEachScheduleGetsItsOwnDefaultWarmup() {
    StudySpec study =
        new StudySpec(
            "s",
            null,
            TestStack.tinyRun("base", 0.5),
            new StudyAxes(
                null,
                null,
                List.of(6400L, 12800L),
                null,
                null,
                null,
                List.of(0L, 1L, 2L),
                null,
                null),
            null,
            null,
            null,
            null,
            null);
    assertEquals(List.of(), study.validate());
    assertEquals(6, study.gridSize());
    List<StudyCell> cells = study.expand();
    assertEquals(
        List.of(
            "s-samples6400-seed0",
            "s-samples6400-seed1",
            "s-samples6400-seed2",
            "s-samples12800-seed0",
            "s-samples12800-seed1",
            "s-samples12800-seed2"),
        cells.stream().map(StudyCell::workflowId).toList());
    assertEquals(
        List.of(0L, 1L, 2L, 0L, 1L, 2L), cells.stream().map(c -> c.spec().seed()).toList());
    assertEquals(5, RunPlans.pretrainingConfig(cells.get(0).spec()).warmupSteps());
    assertEquals(10, RunPlans.pretrainingConfig(cells.get(3).spec()).warmupSteps());
    assertNotEquals(cells.get(0).spec().fingerprint(), cells.get(1).spec().fingerprint());
    StudySpec textMasking =
        study
            .with()
            .axes(new StudyAxes(null, null, null, null, null, List.of(0.0, 0.5), null, null, null))
            .baseRun(TestStack.tinyRun("base", 0.5).withTextMasking("prioritized"))
            .build();
    assertEquals(List.of(), textMasking.validate());
    assertEquals(
        List.of("s-textmask0", "s-textmask50"),
        textMasking.expand().stream().map(StudyCell::workflowId).toList());
    assertEquals(0.5, textMasking.expand().get(1).spec().textMaskRatio());
    assertEquals(
        0.5, RunPlans.pretrainingConfig(textMasking.expand().get(1).spec()).textMaskRatio());
    assertEquals(
        null,
        RunPlans.tuningConfig(
                RunPlans.pretrainingConfig(textMasking.expand().get(1).spec()),
                6400,
                UnmaskedTuning.defaults())
            .textMaskRatio(),
        "unmasked tuning masks no text");
    assertEquals(
        TestStack.tinyRun("x", 0.5).fingerprint(),
        TestStack.tinyRun("x", 0.5).withWarmupSamples(320L).fingerprint(),
        "the default warmup left out or written out is the same run");
  }

  /** Table 1f: a weight axis; 0 is the plain run, a weight adds the decoder to pretraining only. */
  @Test
  void reconstructionAxisAddsTheDecoderToPretrainingOnly() {
    RunSpec base = TestStack.tinyRun("base", 0.5);
    StudySpec study =
        new StudySpec(
            "f",
            null,
            base,
            new StudyAxes(null, null, null, null, null, null, null, null, List.of(0.0, 1.0)),
            null,
            null,
            null,
            null,
            null);
    assertEquals(List.of(), study.validate());
    List<StudyCell> cells = study.expand();
    assertEquals(
        List.of("f-recon0", "f-recon1"), cells.stream().map(StudyCell::workflowId).toList());
    assertNull(cells.get(0).spec().reconstruction());
    assertEquals(
        base.with().name("f-recon0").studyId("f").build().fingerprint(),
        cells.get(0).spec().fingerprint(),
        "weight 0 is the run without a decoder");
    TrainConfig pretraining = RunPlans.pretrainingConfig(cells.get(1).spec());
    assertEquals(1.0, pretraining.reconstruction().weight());
    assertEquals(2, pretraining.reconstruction().decoderLayers());
    assertNull(
        RunPlans.tuningConfig(pretraining, 6400, UnmaskedTuning.defaults()).reconstruction(),
        "unmasked tuning trains no decoder");
    assertEquals(
        List.of(
            "reconstruction.weight: must be positive (leave reconstruction out for none), got -1.0",
            "reconstruction.decoderLayers: must be in [1, 24], got 0",
            "reconstruction: needs masked patches to reconstruct, but maskRatio is 0"),
        TestStack.tinyRun("r", 0.0)
            .withReconstruction(new io.flipflow.workflows.spec.Reconstruction(-1.0, 0, null))
            .validate());
    assertEquals(
        List.of("axes.reconstructionWeights: must be >= 0 (0 for none), got -0.5"),
        study
            .with()
            .axes(new StudyAxes(null, null, null, null, null, null, null, null, List.of(-0.5)))
            .build()
            .validate());
  }

  /** The tuning ablation: one axis of tuning settings, each cell the same pretraining. */
  @Test
  void tuningAxisVariesOnlyTheTuningStage() {
    RunSpec base = TestStack.tinyRun("base", 0.75);
    StudySpec study =
        new StudySpec(
            "t",
            null,
            base,
            new StudyAxes(
                null,
                null,
                null,
                null,
                null,
                null,
                null,
                List.of(
                    new UnmaskedTuning(null, null, null, "fresh", null),
                    new UnmaskedTuning(true, 0.2, 0.1, "carried", 0.0),
                    new UnmaskedTuning(true, 0.05, 0.3, "CARRIED", null)),
                null),
            null,
            null,
            null,
            null,
            null);
    assertEquals(List.of(), study.validate());
    List<StudyCell> cells = study.expand();
    assertEquals(
        List.of(
            "t-tune-fresh-lr0.1-f5-w10",
            "t-tune-carried-lr0.1-f20-w0",
            "t-tune-carried-lr0.3-f5-w10"),
        cells.stream().map(StudyCell::workflowId).toList());
    var data =
        new io.flipflow.workflows.result.StagedDataset(
            "s3://b/staged/manifest.json", 10, 64, 32, 100, null);
    var pretrained = new CheckpointRef("s3://b/c.tar", 50, 6400);
    var fresh = RunPlans.tuning(cells.get(0).spec(), data, pretrained);
    var carried = RunPlans.tuning(cells.get(1).spec(), data, pretrained);
    assertFalse(fresh.carriesOptimizer());
    assertTrue(carried.carriesOptimizer());
    assertEquals(20, carried.config().totalSteps(), "20% of 6,400 samples at batch 64");
    assertEquals(0, carried.config().warmupSteps());
    assertEquals(
        RunPlans.pretraining(cells.get(0).spec(), data).config(),
        RunPlans.pretraining(cells.get(1).spec(), data).config(),
        "the cells pretrain alike");
    // the defaults written out are the run they always were; a changed setting is another run
    assertEquals(
        base.fingerprint(),
        base.withUnmaskedTuning(new UnmaskedTuning(true, 0.05, 0.1, "carried", 0.1)).fingerprint());
    assertNotEquals(
        base.fingerprint(),
        base.withUnmaskedTuning(new UnmaskedTuning(true, 0.05, 0.1, "fresh", 0.1)).fingerprint());
    assertNotEquals(base.fingerprint(), cells.get(2).spec().fingerprint());
    assertNotEquals(
        base.fingerprint(),
        base.withUnmaskedTuning(new UnmaskedTuning(true, null, null, null, 0.5)).fingerprint());
    List<String> bad =
        study
            .with()
            .axes(
                new StudyAxes(
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    List.of(new UnmaskedTuning(true, null, null, "adam", 1.5)),
                    null))
            .build()
            .validate();
    assertEquals(
        List.of(
            "axes.unmaskedTunings[0].optimizer: must be 'fresh' or 'carried', got 'adam'",
            "axes.unmaskedTunings[0].warmupFraction: must be in [0, 1], got 1.5"),
        bad);
  }

  @Test
  void studyNamesTheFirstRunOfEachProblemOnce() {
    StudySpec study =
        new StudySpec(
            "s",
            null,
            TestStack.tinyRun("base", 0.0).with().batchSize(0).build(),
            new StudyAxes(null, null, null, List.of(0.0, 0.5, 0.99), null, null, null, null, null),
            1,
            null,
            null,
            null,
            null);
    assertEquals(List.of("run s-mask0: batchSize: must be positive, got 0"), study.validate());
  }

  @Test
  void recordsRoundTripThroughTemporalsJsonConverter() {
    RunSpec spec = TestStack.tinyRun("rt", 0.5).with().studyId("st").build();
    assertEquals(spec, roundTrip(spec, RunSpec.class));
    StudySpec study = ScalingStudyWorkflowTest.maskStudy("st", List.of(0.0, 0.5), 2, 10);
    assertEquals(study, roundTrip(study, StudySpec.class));
    TrainResult train =
        new TrainResult(new CheckpointRef("s3://b/c", 3, 384), 3, 384, 2.5, 1.5, 256.0, true);
    EvalReport report =
        new EvalReport(
            List.of(new EvalMetric("zeroshot_classification", "d", "unseen", "acc1", 0.3)),
            "s3://b/r.json");
    RunSummary summary =
        new RunSummary(
            "w", "n", null, RunStatus.CANCELLED, train, report, null, null, 0.3, 7.5, "stop");
    assertEquals(summary, roundTrip(summary, RunSummary.class));
    Progress progress = new Progress(Stage.PRETRAIN, 5, 640, 3.25, 12.5, 100L);
    assertEquals(progress, roundTrip(progress, Progress.class));
  }

  @Test
  void jsonWithOnlyRequiredFieldsGetsDefaults() {
    String json =
        """
        {"name": "min", "modelPreset": "tiny-emoji", "dataUri": "s3://flipflow/emoji/train/",
         "evalSetUris": ["s3://flipflow/emoji/eval/subgroup/"], "imageSize": 64,
         "maskRatio": 0.5, "batchSize": 32, "steps": 10, "baseLr": 0.001}
        """;
    RunSpec spec = fromJson(json, RunSpec.class);
    assertEquals(List.of(), spec.validate());
    assertEquals(UnmaskedTuning.defaults(), spec.unmaskedTuning());
    assertEquals(200, spec.checkpointIntervalSteps());
  }

  static <T> T fromJson(String json, Class<T> type) {
    Payload payload =
        Payload.newBuilder()
            .putMetadata("encoding", com.google.protobuf.ByteString.copyFromUtf8("json/plain"))
            .setData(com.google.protobuf.ByteString.copyFrom(json, StandardCharsets.UTF_8))
            .build();
    return CONVERTER.fromPayload(payload, type, type);
  }

  private static <T> T roundTrip(T value, Class<T> type) {
    return CONVERTER.fromPayload(CONVERTER.toPayload(value).orElseThrow(), type, type);
  }

  @Test
  void whatCanBeCheckedAtStartIsRefusedThere() {
    RunSpec ok = TestStack.tinyRun("ok", 0.5);
    assertEquals(List.of(), ok.validate());
    for (String name : List.of("a/b", "..", "x\u0000y", "with space", ".hidden")) {
      List<String> p = ok.withName(name).validate();
      assertEquals(1, p.size(), name + ": " + p);
      assertTrue(p.get(0).startsWith("name: "), p.get(0));
    }
    assertTrue(ok.withName("n".repeat(201)).validate().get(0).contains("at most 200"));
    assertTrue(ok.withStudyId("s".repeat(101)).validate().get(0).startsWith("studyId: at most"));
    List<String> warmup = ok.withWarmupSamples(6401L).validate();
    assertEquals(
        List.of("warmupSamples: 6401 is longer than the whole schedule of 6400 samples"), warmup);
    assertTrue(
        ok.withWallClockBudgetSeconds(Long.MAX_VALUE / 1000)
            .validate()
            .get(0)
            .startsWith("wallClockBudgetSeconds: must be in [1, 31622400]"));
    List<String> huge =
        ok.withDataUri("s3://flipflow/x/{000000..999999}{000000..999999}.tar").validate();
    assertEquals(1, huge.size(), "" + huge);
    assertTrue(huge.get(0).contains("names 1.00e+12 shards, at most 1,000,000"), huge.get(0));
  }
}
