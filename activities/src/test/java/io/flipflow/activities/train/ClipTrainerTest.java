package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.checkpoint.CheckpointState;
import io.flipflow.activities.device.Devices;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.workflows.plan.RunPlans;
import io.flipflow.workflows.plan.TrainConfig;
import io.flipflow.workflows.plan.TrainConfigBuilder;
import io.flipflow.workflows.spec.UnmaskedTuning;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipTrainerTest {

  /** 32 px, patch 8 (16 patches), width 64, 2 layers per tower, context 8, vocab 32. */
  static ModelPreset micro() {
    return new ModelPreset("test-micro", 32, 8, 64, 2, 2, 2.0, 32, 32, 8, 64, 2, 2, "eot");
  }

  static TrainConfig config(double mask, int batch, long steps) {
    return TrainConfigBuilder.builder()
        .preset("test-micro")
        .maskRatio(mask)
        .batchSize(batch)
        .totalSteps(steps)
        .baseLearningRate(2e-3 * 256 / batch)
        .warmupSteps(5)
        .weightDecay(0.05)
        .beta1(0.9)
        .beta2(0.98)
        .epsilon(1e-6)
        .gradClipNorm(1.0)
        .seed(42)
        .checkpointEvery(1000)
        .metricsEvery(1)
        .build();
  }

  private static List<Float> losses(
      ClipTrainer trainer, BatchSource data, Path dir, java.util.function.BooleanSupplier stop) {
    List<Float> losses = new ArrayList<>();
    trainer.run(data, dir, m -> losses.add(m.loss()), stop);
    return losses;
  }

  /** Text masking reaches the step: the same seed and data give another loss, then stay stable. */
  @Test
  void textMaskingChangesWhatIsTrainedAndStillLearns(@TempDir Path dir) {
    ModelPreset preset = micro();
    TrainConfig plain = config(0.5, 32, 30);
    TrainConfig masked = plain.with().textMaskRatio(0.5).textMasking("random").build();
    List<Float> plainLosses;
    List<Float> maskedLosses;
    try (ClipTrainer trainer = ClipTrainer.create(plain, preset)) {
      plainLosses =
          losses(trainer, new SyntheticBatchSource(preset, 32), dir.resolve("a"), () -> false);
    }
    try (ClipTrainer trainer = ClipTrainer.create(masked, preset)) {
      maskedLosses =
          losses(trainer, new SyntheticBatchSource(preset, 32), dir.resolve("b"), () -> false);
    }
    assertNotEquals(plainLosses.get(0), maskedLosses.get(0), "the first step sees other tokens");
    assertTrue(
        maskedLosses.get(maskedLosses.size() - 1) < maskedLosses.get(0),
        "text-masked training still lowers its loss: " + maskedLosses);
  }

  @Test
  void overfitsSixtyFourPairsWellBelowLogBatch(@TempDir Path dir) {
    ModelPreset preset = micro();
    TrainConfig config = config(0.5, 64, 120);
    try (ClipTrainer trainer = ClipTrainer.create(config, preset)) {
      List<Float> losses = losses(trainer, new SyntheticBatchSource(preset, 64), dir, () -> false);
      float first = losses.get(0);
      float last = losses.get(losses.size() - 1);
      System.out.printf(
          "overfit 64 pairs: loss %.3f -> %.3f (ln 64 = %.3f)%n", first, last, Math.log(64));
      assertTrue(Math.abs(first - Math.log(64)) < 1.0, "initial loss " + first);
      assertTrue(last < 1.0, "loss should fall well below ln 64 = 4.16, got " + last);
    }
  }

  @Test
  void resumedRunContinuesTheSameLossSequence(@TempDir Path dir) {
    ModelPreset preset = micro();
    TrainConfig config = config(0.5, 8, 8).with().checkpointEvery(100).metricsEvery(1).build();
    List<Float> straight;
    try (ClipTrainer trainer = ClipTrainer.create(config, preset)) {
      straight =
          losses(trainer, new SyntheticBatchSource(preset, 64), dir.resolve("a"), () -> false);
    }
    assertEquals(8, straight.size());

    List<Float> interrupted = new ArrayList<>();
    Path checkpoint;
    try (ClipTrainer trainer = ClipTrainer.create(config, preset)) {
      LoopResult half =
          trainer.run(
              new SyntheticBatchSource(preset, 64),
              dir.resolve("b"),
              m -> interrupted.add(m.loss()),
              () -> trainer.step() >= 4);
      assertTrue(half.stopped());
      assertEquals(4, half.step());
      assertEquals(32, half.samplesSeen());
      checkpoint = half.checkpoint();
      assertTrue(Files.isRegularFile(checkpoint.resolve(CheckpointDir.STATE)));
    }
    try (ClipTrainer resumed = ClipTrainer.resume(checkpoint)) {
      assertEquals(4, resumed.step());
      // a brand-new source: the trainer must seek it to the saved position
      LoopResult rest =
          resumed.run(
              new SyntheticBatchSource(preset, 64),
              dir.resolve("b"),
              m -> interrupted.add(m.loss()),
              () -> false);
      assertFalse(rest.stopped());
      assertEquals(8, rest.step());
      assertEquals(64, rest.samplesSeen());
    }
    assertEquals(straight.size(), interrupted.size());
    for (int i = 0; i < straight.size(); i++) {
      assertEquals(straight.get(i), interrupted.get(i), 1e-5f, "loss of step " + (i + 1));
    }
    System.out.println("straight " + straight + "\nresumed  " + interrupted);
  }

  @Test
  void checkpointsEveryNStepsAndAtTheEnd(@TempDir Path dir) throws Exception {
    ModelPreset preset = micro();
    TrainConfig config = config(0.75, 4, 5).with().checkpointEvery(2).metricsEvery(1).build();
    try (ClipTrainer trainer = ClipTrainer.create(config, preset)) {
      LoopResult result =
          trainer.run(new SyntheticBatchSource(preset, 16), dir, StepListener.NONE, () -> false);
      assertEquals(CheckpointDir.directoryFor(dir, 5), result.checkpoint());
    }
    try (var list = Files.list(dir)) {
      assertEquals(
          List.of("step-000000002", "step-000000004", "step-000000005"),
          list.map(p -> p.getFileName().toString()).sorted().toList());
    }
    CheckpointState state = CheckpointDir.readState(CheckpointDir.latest(dir).orElseThrow());
    assertEquals(5, state.step());
    assertEquals(20, state.samplesSeen());
    assertEquals(20, state.dataPosition());
    assertEquals(5, state.optimizerUpdates());
    assertEquals("test-micro", state.presetName());
    assertEquals(0.75, state.config().maskRatio());
  }

  @Test
  void unmaskedTuningStartsFromPretrainedWeights(@TempDir Path dir) {
    ModelPreset preset = micro();
    TrainConfig pretrain = config(0.75, 16, 6);
    Path checkpoint;
    float pretrainedLoss;
    try (ClipTrainer trainer = ClipTrainer.create(pretrain, preset)) {
      LoopResult r =
          trainer.run(
              new SyntheticBatchSource(preset, 64),
              dir.resolve("pre"),
              StepListener.NONE,
              () -> false);
      checkpoint = r.checkpoint();
      pretrainedLoss = r.lastLoss();
    }
    TrainConfig tuning =
        RunPlans.tuningConfig(pretrain, 6 * 16, new UnmaskedTuning(true, 0.5, 0.1));
    assertEquals(0.0, tuning.maskRatio());
    assertEquals(3, tuning.totalSteps());
    assertEquals(pretrain.baseLearningRate() / 10, tuning.baseLearningRate(), 1e-12);
    try (ClipTrainer tuner = ClipTrainer.fromWeights(checkpoint, tuning)) {
      assertEquals(0, tuner.step());
      LoopResult r =
          tuner.run(
              new SyntheticBatchSource(preset, 64),
              dir.resolve("tune"),
              StepListener.NONE,
              () -> false);
      assertEquals(3, r.step());
      assertTrue(Float.isFinite(r.lastLoss()));
      // from pretrained weights the unmasked loss starts near where pretraining ended, not at ln 16
      assertTrue(
          r.lastLoss() < Math.log(16),
          "tuning loss " + r.lastLoss() + " after pretraining " + pretrainedLoss);
    }
  }

  /**
   * Tuning with pretraining's optimizer carried over continues Adam's count and takes smaller first
   * steps than a fresh AdamW, whose bias-corrected first step moves every weight by about the
   * learning rate whatever its gradient (the sign step the tuning ablation compares against).
   */
  @Test
  void carriedOptimizerContinuesAdamInsteadOfStartingWithSignSteps(@TempDir Path dir)
      throws Exception {
    ModelPreset preset = micro();
    TrainConfig pretrain = config(0.75, 16, 6);
    Path checkpoint;
    try (ClipTrainer trainer = ClipTrainer.create(pretrain, preset)) {
      checkpoint =
          trainer
              .run(
                  new SyntheticBatchSource(preset, 64),
                  dir.resolve("pre"),
                  StepListener.NONE,
                  () -> false)
              .checkpoint();
    }
    TrainConfig oneStep =
        RunPlans.tuningConfig(pretrain, 16, new UnmaskedTuning(true, 1.0, 1.0, "carried", 0.0));
    assertEquals(1, oneStep.totalSteps());
    assertEquals(0, oneStep.warmupSteps());
    double[] meanStep = new double[2];
    long[] updates = new long[2];
    for (int carried = 0; carried < 2; carried++) {
      try (ClipTrainer tuner =
          carried == 1
              ? ClipTrainer.fromWeightsAndOptimizer(checkpoint, oneStep, List.of(Devices.cpu()))
              : ClipTrainer.fromWeights(checkpoint, oneStep)) {
        java.util.Map<String, float[]> before = weights(tuner);
        Path tuned =
            tuner
                .run(
                    new SyntheticBatchSource(preset, 64),
                    dir.resolve("tune" + carried),
                    StepListener.NONE,
                    () -> false)
                .checkpoint();
        meanStep[carried] = meanAbsoluteChange(before, weights(tuner));
        try (var in = CheckpointDir.open(tuned, CheckpointDir.OPTIMIZER)) {
          in.readInt(); // format
          updates[carried] = in.readLong();
        }
      }
    }
    assertEquals(1, updates[0], "a fresh optimizer counts its own step only");
    assertEquals(7, updates[1], "the carried optimizer goes on from pretraining's 6 updates");
    double lr = oneStep.peakLearningRate();
    assertTrue(meanStep[0] > 0.9 * lr, "fresh first step " + meanStep[0] + " vs lr " + lr);
    assertTrue(
        meanStep[1] < 0.7 * meanStep[0],
        "carried step " + meanStep[1] + " vs fresh " + meanStep[0]);
  }

  private static java.util.Map<String, float[]> weights(ClipTrainer trainer) {
    java.util.Map<String, float[]> copy = new java.util.LinkedHashMap<>();
    for (var p : trainer.model().getParameters()) {
      copy.put(p.getKey(), p.getValue().getArray().toFloatArray());
    }
    return copy;
  }

  private static double meanAbsoluteChange(
      java.util.Map<String, float[]> before, java.util.Map<String, float[]> after) {
    double sum = 0;
    long count = 0;
    for (var e : before.entrySet()) {
      float[] a = e.getValue();
      float[] b = after.get(e.getKey());
      for (int i = 0; i < a.length; i++) {
        sum += Math.abs(b[i] - a[i]);
        count++;
      }
    }
    return sum / count;
  }

  @Test
  void nanLossFailsNamingTheStepAndLastCheckpoint(@TempDir Path dir) {
    ModelPreset preset = micro();
    SyntheticBatchSource real = new SyntheticBatchSource(preset, 16);
    BatchSource poisoned =
        new BatchSource() {
          @Override
          public Batch next(NDManager manager, int batchSize) {
            Batch b = real.next(manager, batchSize);
            return real.position() > 12 ? new Batch(b.images().mul(Float.NaN), b.tokens()) : b;
          }

          @Override
          public long position() {
            return real.position();
          }

          @Override
          public void seek(long position) {
            real.seek(position);
          }
        };
    TrainConfig config = config(0.5, 4, 10).with().checkpointEvery(2).metricsEvery(1).build();
    try (ClipTrainer trainer = ClipTrainer.create(config, preset)) {
      var e =
          assertThrows(
              TrainingDivergedException.class,
              () -> trainer.run(poisoned, dir, StepListener.NONE, () -> false));
      assertEquals(4, e.step());
      assertEquals(CheckpointDir.directoryFor(dir, 2), e.lastGoodCheckpoint());
      assertTrue(e.getMessage().contains("step 4"), e.getMessage());
      assertTrue(e.getMessage().contains("step-000000002"), e.getMessage());
    }
  }

  @Test
  void perStepManagersAreClosedSoTheModelsArrayCountStaysFlat(@TempDir Path dir) {
    ModelPreset preset = micro();
    TrainConfig config = config(0.5, 8, 8).with().checkpointEvery(100).metricsEvery(1).build();
    try (ClipTrainer trainer = ClipTrainer.create(config, preset)) {
      NDManager modelManager = trainer.model().manager();
      List<Integer> counts = new ArrayList<>();
      trainer.run(
          new SyntheticBatchSource(preset, 64),
          dir,
          m -> {
            counts.add(modelManager.getManagedArrays().size());
            System.out.printf("step %d: %.1f ms%n", m.step(), m.stepMillis());
          },
          () -> false);
      // step 1 creates the optimizer's moments; from then on nothing may accumulate
      System.out.println("model manager arrays per step: " + counts);
      for (int i = 1; i < counts.size(); i++) {
        assertEquals(counts.get(1), counts.get(i), "arrays after step " + (i + 1) + ": " + counts);
      }
      int parameters = trainer.model().getParameters().size();
      // weights + 2 moments each + the fixed position embedding
      assertEquals(3 * parameters + 1, counts.get(1));
      // inference calls must not leak either
      try (NDManager m = NDManager.newBaseManager()) {
        Batch b = new SyntheticBatchSource(preset, 4).next(m, 4);
        trainer.model().encodeImages(b.images(), 0);
        trainer.model().encodeTexts(b.tokens());
      }
      assertEquals(counts.get(1), modelManager.getManagedArrays().size());
    }
  }

  @Test
  void stopRequestBeforeTheFirstStepStillCheckpoints(@TempDir Path dir) {
    ModelPreset preset = micro();
    try (ClipTrainer trainer = ClipTrainer.create(config(0.5, 4, 10), preset)) {
      LoopResult r =
          trainer.run(new SyntheticBatchSource(preset, 16), dir, StepListener.NONE, () -> true);
      assertTrue(r.stopped());
      assertEquals(0, r.step());
      assertNotNull(r.checkpoint());
      assertEquals(0, CheckpointDir.readState(r.checkpoint()).step());
    }
  }
}
