package io.flipflow.activities.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The preset fields that make flipflow's model OpenCLIP's (issue 16): class token, the two position
 * tables, ln_pre, class-token pooling, pooling at the end-of-text id. Numerical agreement with
 * OpenCLIP itself is {@code interop.OpenClipEquivalenceTest}; this checks the parts one by one.
 */
class OpenClipShapedModelTest {

  /** micro in the shipped (FLIP) form: class token, fixed sin_cos_2d, avg pooling, eos pooling. */
  static ModelPreset flipForm() {
    return TestPresets.microFlipForm(3);
  }

  /** micro in OpenCLIP's default form: learned positions, ln_pre, class-token pooling, argmax. */
  static ModelPreset openClipForm() {
    return new ModelPreset(
        "micro-oc",
        32,
        8,
        64,
        2,
        2,
        2.0,
        32,
        32,
        8,
        64,
        2,
        2,
        "argmax",
        null,
        true,
        "learnable",
        true,
        "tok");
  }

  @Test
  void bothFormsBuildWithTheFormulaCountAndEveryParameterLearns() {
    for (ModelPreset preset : List.of(flipForm(), openClipForm())) {
      try (NDManager root = NDManager.newBaseManager();
          ClipModel model = ClipModel.create(preset, root, 3)) {
        assertEquals(preset.parameterCount(), model.parameterCount(), preset.name());
        assertEquals(model.getParameters().size(), model.namedParameters().size());
        try (NDManager step = root.newSubManager()) {
          NDArray images = step.randomNormal(new Shape(8, 3, 32, 32));
          NDArray tokens = step.randomInteger(4, 30, new Shape(8, 8), DataType.INT32);
          tokens.set(new ai.djl.ndarray.index.NDIndex(":, 5"), 3);
          tokens.set(new ai.djl.ndarray.index.NDIndex(":, 6:"), 0);
          NDArray loss;
          try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            loss = model.loss(images, tokens, 0.5);
            gc.backward(loss);
          }
          assertTrue(Float.isFinite(loss.getFloat()));
          for (var p : model.namedParameters().entrySet()) {
            NDArray g = p.getValue().getArray().getGradient();
            g.attach(step);
            assertTrue(
                g.abs().sum().getFloat() > 0, preset.name() + ": no gradient for " + p.getKey());
          }
        }
      }
    }
  }

  @Test
  void weightsHaveOpenClipsModulePaths() {
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(openClipForm(), root, 1)) {
      var shapes = model.weightShapes();
      assertArrayEquals(new long[] {64, 3, 8, 8}, shapes.get("visual.conv1.weight"));
      assertArrayEquals(new long[] {64}, shapes.get("visual.class_embedding"));
      assertArrayEquals(new long[] {17, 64}, shapes.get("visual.positional_embedding"));
      assertArrayEquals(new long[] {64}, shapes.get("visual.ln_pre.weight"));
      assertArrayEquals(
          new long[] {192, 64}, shapes.get("visual.transformer.resblocks.1.attn.in_proj.weight"));
      assertArrayEquals(
          new long[] {128, 64}, shapes.get("transformer.resblocks.0.mlp.c_fc.weight"));
      assertArrayEquals(new long[] {32, 64}, shapes.get("visual.proj.weight"));
      assertArrayEquals(new long[] {32, 64}, shapes.get("token_embedding.weight"));
      assertArrayEquals(new long[] {8, 64}, shapes.get("positional_embedding"));
      assertArrayEquals(new long[] {32, 64}, shapes.get("text_projection.weight"));
      assertArrayEquals(new long[] {1}, shapes.get("logit_scale"));
      assertTrue(shapes.containsKey("ln_final.bias"));
    }
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(TestPresets.micro(), root, 1)) {
      var shapes = model.weightShapes();
      // the legacy form has none of the new parts
      assertTrue(!shapes.containsKey("visual.class_embedding"));
      assertTrue(!shapes.containsKey("visual.ln_pre.weight"));
      assertTrue(!shapes.containsKey("visual.positional_embedding"));
    }
  }

  @Test
  void setWeightCopiesInPlaceAndRefusesAnotherShape() {
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(flipForm(), root, 1)) {
      float[] values = new float[64];
      for (int i = 0; i < values.length; i++) {
        values[i] = i / 10f;
      }
      model.setWeight("visual.class_embedding", new long[] {64}, values);
      assertArrayEquals(values, model.weightValues("visual.class_embedding"));
      var e =
          assertThrows(
              IllegalArgumentException.class,
              () -> model.setWeight("visual.class_embedding", new long[] {65}, new float[65]));
      assertTrue(
          e.getMessage().contains("(65)") && e.getMessage().contains("(64)"), e.getMessage());
    }
  }

  @Test
  void theClassTokenChangesTheImageEmbeddingAndIsNeverMasked() {
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(flipForm(), root, 2)) {
      try (NDManager step = root.newSubManager()) {
        NDArray images = step.randomNormal(new Shape(2, 3, 32, 32));
        float[] before = model.encodeImages(images, 0).toFloatArray();
        float[] zeros = new float[64];
        model.setWeight("visual.class_embedding", new long[] {64}, zeros);
        float[] after = model.encodeImages(images, 0).toFloatArray();
        double diff = 0;
        for (int i = 0; i < before.length; i++) {
          diff = Math.max(diff, Math.abs(before[i] - after[i]));
        }
        // it takes part in attention, though average pooling leaves it out
        assertTrue(diff > 1e-4, "the class token made no difference: " + diff);
        // 1 patch kept of 16 at ratio 0.95: still the class token plus that patch
        assertEquals(new Shape(2, 32), model.encodeImages(images, 0.95).getShape());
      }
    }
  }

  @Test
  void textPoolsAtTheFirstEosIdOrTheHighestId() {
    try (NDManager root = NDManager.newBaseManager();
        ClipModel eos = ClipModel.create(flipForm(), root, 1);
        ClipModel argmax = ClipModel.create(openClipForm(), root, 1)) {
      try (NDManager step = root.newSubManager()) {
        // row 0: id 0 inside the caption (a real token in CLIP BPE), eos at 4; row 1: no eos
        NDArray tokens =
            step.create(
                new int[] {2, 0, 9, 7, 3, 0, 0, 0, 2, 5, 6, 7, 8, 9, 10, 11}, new Shape(2, 8));
        assertArrayEquals(new long[] {4, 0}, eos.text().poolIndex(tokens).toLongArray());
        assertArrayEquals(new long[] {2, 7}, argmax.text().poolIndex(tokens).toLongArray());
      }
    }
  }

  @Test
  void trainingRefusesTokensThatDoNotEndWhereThePresetPools() {
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(flipForm(), root, 1)) {
      try (NDManager step = root.newSubManager()) {
        model.checkEndOfText(step.create(new int[] {2, 5, 3, 0}, new Shape(1, 4)));
        var e =
            assertThrows(
                IllegalArgumentException.class,
                () ->
                    model.checkEndOfText(
                        step.create(new int[] {2, 5, 3, 0, 49406, 9, 49407, 0}, new Shape(2, 4))));
        assertTrue(e.getMessage().contains("ends with id 49407"), e.getMessage());
        assertTrue(e.getMessage().contains("eosId 3"), e.getMessage());
      }
    }
  }

  @Test
  void sinCos2dIsMaesTableColumnFirstWithAZeroClassRow() {
    int grid = 4;
    int width = 8;
    float[] t = SinCosPositionEmbedding.openClip(grid, width, true);
    assertEquals((grid * grid + 1) * width, t.length);
    for (int i = 0; i < width; i++) {
      assertEquals(0f, t[i]);
    }
    // patch (row 1, col 2) is token 1 + 1*4 + 2 = 7: [sin(2w0), sin(2w1), cos(2w0), cos(2w1),
    // sin(1w0), ...] with w_k = 1/10000^(k/2)
    int base = 7 * width;
    double w1 = 1 / Math.pow(10000, 0.5);
    assertEquals(Math.sin(2), t[base], 1e-6);
    assertEquals(Math.sin(2 * w1), t[base + 1], 1e-6);
    assertEquals(Math.cos(2), t[base + 2], 1e-6);
    assertEquals(Math.sin(1), t[base + 4], 1e-6);
    assertEquals(Math.cos(1 * w1), t[base + 7], 1e-6);
  }
}
