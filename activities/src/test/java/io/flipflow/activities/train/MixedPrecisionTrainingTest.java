package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.util.Pair;
import io.flipflow.activities.device.Devices;
import io.flipflow.activities.model.Attention;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.model.Precision;
import io.flipflow.activities.model.TextMasking;
import io.flipflow.workflows.plan.TrainConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spec's {@code precision} and {@code attention} reach the real model: bf16 autocast trains the
 * micro CLIP (the loss falls, gradients reach every weight, the first losses stay near fp32's), and
 * fused attention equals explicit attention in the loss and in every gradient, with the text
 * tower's causal mask and with text masking.
 */
class MixedPrecisionTrainingTest {

  /** bf16 keeps 8 bits of mantissa: the first losses may differ from fp32's by this fraction. */
  private static final double LOSS_TOLERANCE = 0.02;

  @BeforeEach
  void requireExtension() {
    AdamWTest.assumeKernel(AdamW.Kernel.MULTI_TENSOR);
  }

  @Test
  void bf16TrainsTheMicroClipNearFp32(@TempDir Path dir) {
    Trained b = trainsNearFp32("bf16", dir);
    for (Map.Entry<String, float[]> e : b.initial.entrySet()) {
      float[] before = e.getValue();
      float[] after = b.weights.get(e.getKey());
      double moved = 0;
      for (int i = 0; i < before.length; i++) {
        moved = Math.max(moved, Math.abs(after[i] - before[i]));
      }
      assertTrue(moved > 0, e.getKey() + " never moved: no gradient reached it under bf16");
    }
  }

  @Test
  void fp16WithDynamicLossScalingTrainsTheMicroClipNearFp32(@TempDir Path dir) {
    trainsNearFp32("fp16", dir);
  }

  /**
   * 30 steps at {@code precision} against fp32 from the same start: the first 3 losses within the
   * tolerance, really another arithmetic, and the loss falling.
   */
  private static Trained trainsNearFp32(String precision, Path dir) {
    ModelPreset preset = ClipTrainerTest.micro();
    TrainConfig fp32 = ClipTrainerTest.config(0.5, 16, 30);
    Trained a = train(preset, fp32, dir.resolve("fp32"));
    Trained b = train(preset, fp32.withPrecision(precision), dir.resolve(precision));
    System.out.printf(
        "micro CLIP, 30 steps: fp32 %.4f -> %.4f, %s %.4f -> %.4f%n",
        a.losses.get(0), a.losses.get(29), precision, b.losses.get(0), b.losses.get(29));
    for (int i = 0; i < 3; i++) {
      double relative = Math.abs(b.losses.get(i) - a.losses.get(i)) / a.losses.get(i);
      assertTrue(
          relative < LOSS_TOLERANCE,
          "step " + (i + 1) + ": " + precision + " " + b.losses.get(i) + " vs " + a.losses.get(i));
    }
    assertNotEquals(a.losses.get(0), b.losses.get(0), precision + " must really compute in it");
    assertTrue(b.losses.get(29) < 0.6 * b.losses.get(0), precision + " did not train: " + b.losses);
    return b;
  }

  /**
   * A scale far too large overflows float16 gradients: the step is skipped (no weight moves), the
   * scale halves, and a checkpoint carries the scale into the resumed run.
   */
  @Test
  void anOverflowingFp16StepIsSkippedAndTheScaleHalvesAndResumes(@TempDir Path dir) {
    ModelPreset preset = ClipTrainerTest.micro();
    TrainConfig config =
        ClipTrainerTest.config(0.5, 16, 3).with().warmupSteps(0).precision("fp16").build();
    double huge = Math.pow(2, 60);
    Path checkpoint;
    try (ClipTrainer trainer = ClipTrainer.create(config, preset).withInitialLossScale(huge)) {
      Map<String, float[]> before = new LinkedHashMap<>();
      for (Pair<String, Parameter> p : trainer.model().getParameters()) {
        before.put(p.getKey(), p.getValue().getArray().toFloatArray());
      }
      List<Float> losses = new ArrayList<>();
      trainer.run(
          new SyntheticBatchSource(preset, 16), dir, m -> losses.add(m.loss()), () -> false);
      assertEquals(3, trainer.skippedSteps(), "every step at 2^60..2^58 overflows float16");
      assertEquals(huge / 8, trainer.lossScale());
      assertTrue(Float.isFinite(losses.get(0)), "the reported loss is the unscaled one");
      for (Pair<String, Parameter> p : trainer.model().getParameters()) {
        float[] after = p.getValue().getArray().toFloatArray();
        assertTrue(
            java.util.Arrays.equals(before.get(p.getKey()), after),
            p.getKey() + " moved in a skipped step");
      }
      checkpoint = trainer.lastCheckpoint();
    }
    try (ClipTrainer resumed = ClipTrainer.resume(checkpoint)) {
      assertEquals(huge / 8, resumed.lossScale());
      assertEquals(3, resumed.skippedSteps());
    }
  }

  @Test
  void theTrainerRecordsPrecisionAndAttentionAndRefusesSeveralDevices() {
    ModelPreset preset = ClipTrainerTest.micro();
    TrainConfig config =
        ClipTrainerTest.config(0.5, 16, 10).withPrecision("bf16").withAttention("fused");
    try (ClipTrainer trainer = ClipTrainer.create(config, preset)) {
      assertEquals(Precision.BF16, trainer.model().precision());
    }
    IllegalArgumentException group =
        assertThrows(
            IllegalArgumentException.class,
            () -> ClipTrainer.create(config, preset, List.of(Devices.cpu(), Devices.cpu())));
    assertTrue(
        group.getMessage().startsWith("devices: a trainer runs on one device"), group.getMessage());
  }

  @Test
  void fusedAttentionEqualsExplicitInLossAndGradients() {
    ModelPreset preset = ClipTrainerTest.micro();
    for (double textMask : new double[] {0, 0.5}) {
      Map<String, float[]> explicit = new LinkedHashMap<>();
      Map<String, float[]> fused = new LinkedHashMap<>();
      float lossExplicit = gradients(preset, Attention.EXPLICIT, textMask, explicit);
      float lossFused = gradients(preset, Attention.FUSED, textMask, fused);
      assertEquals(lossExplicit, lossFused, 1e-5 * lossExplicit, "loss, text mask " + textMask);
      double worst = 0;
      double largest = 0;
      for (String name : explicit.keySet()) {
        float[] g = explicit.get(name);
        float[] h = fused.get(name);
        for (int i = 0; i < g.length; i++) {
          worst = Math.max(worst, Math.abs(g[i] - h[i]));
          largest = Math.max(largest, Math.abs(g[i]));
        }
      }
      System.out.printf(
          "text mask %.1f: loss explicit %.7f fused %.7f, gradients differ by up to %.2e%n",
          textMask, lossExplicit, lossFused, worst);
      assertTrue(largest > 1e-3, "gradients too small to compare: " + largest);
      // another kernel rounds differently somewhere: identical bits would mean fused never ran
      assertTrue(worst > 0, "fused and explicit gradients are bit-identical");
      assertTrue(
          worst < 1e-5 * Math.max(1, largest),
          "gradients differ by up to "
              + worst
              + " (largest "
              + largest
              + "), text mask "
              + textMask);
    }
  }

  /** One masked forward and backward of a seeded micro CLIP: the loss, each gradient by name. */
  private static float gradients(
      ModelPreset preset, Attention attention, double textMask, Map<String, float[]> out) {
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(preset, root, 7).setAttention(attention);
        NDManager step = root.newSubManager()) {
      Batch batch = new SyntheticBatchSource(preset, 16).next(step, 8);
      NDArray tokens = batch.tokens();
      NDArray positions = null;
      if (textMask > 0) {
        var kept =
            TextMasking.apply(
                tokens,
                model.textPoolPositions(tokens),
                textMask,
                TextMasking.RANDOM,
                new Random(3),
                step);
        tokens = kept.get(0);
        positions = kept.get(1);
      }
      Engine.getInstance().setRandomSeed(11);
      NDArray loss;
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        loss = model.loss(batch.images(), tokens, positions, 0.5);
        gc.backward(loss);
      }
      for (Pair<String, Parameter> p : model.getParameters()) {
        NDArray g = p.getValue().getArray().getGradient();
        g.attach(step);
        out.put(p.getKey(), g.toFloatArray());
      }
      return loss.getFloat();
    }
  }

  private record Trained(
      List<Float> losses, Map<String, float[]> initial, Map<String, float[]> weights) {}

  private static Trained train(ModelPreset preset, TrainConfig config, Path dir) {
    List<Float> losses = new ArrayList<>();
    Map<String, float[]> initial = new LinkedHashMap<>();
    Map<String, float[]> weights = new LinkedHashMap<>();
    try (ClipTrainer trainer = ClipTrainer.create(config, preset)) {
      for (Pair<String, Parameter> p : trainer.model().getParameters()) {
        initial.put(p.getKey(), p.getValue().getArray().toFloatArray());
      }
      trainer.run(
          new SyntheticBatchSource(preset, 16), dir, m -> losses.add(m.loss()), () -> false);
      for (Pair<String, Parameter> p : trainer.model().getParameters()) {
        weights.put(p.getKey(), p.getValue().getArray().toFloatArray());
      }
    }
    return new Trained(losses, initial, weights);
  }
}
