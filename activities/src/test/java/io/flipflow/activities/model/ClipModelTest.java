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
import org.junit.jupiter.api.Test;

class ClipModelTest {

  @Test
  void microModelEncodesNormalisedEmbeddingsAndHasTheFormulaParameterCount() {
    ModelPreset preset = TestPresets.micro();
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(preset, root, 1)) {
      assertEquals(preset.parameterCount(), model.parameterCount());
      try (NDManager step = root.newSubManager()) {
        NDArray images = step.randomNormal(new Shape(4, 3, 32, 32));
        NDArray tokens =
            step.create(
                new int[] {
                  1, 5, 6, 2, 0, 0, 0, 0, 1, 7, 2, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 1, 3, 4,
                  5, 6, 7, 8, 2
                },
                new Shape(4, 8));
        NDArray img = model.encodeImages(images, 0);
        NDArray txt = model.encodeTexts(tokens);
        assertEquals(new Shape(4, 32), img.getShape());
        assertEquals(new Shape(4, 32), txt.getShape());
        float[] norms = img.norm(new int[] {1}).toFloatArray();
        for (float n : norms) {
          assertEquals(1f, n, 1e-5);
        }
        assertEquals(step, img.getManager());
        NDArray masked = model.encodeImages(images, 0.75);
        assertEquals(new Shape(4, 32), masked.getShape());
      }
    }
  }

  @Test
  void textPoolsAtTheLastNonPadToken() {
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(TestPresets.micro(), root, 1)) {
      try (NDManager step = root.newSubManager()) {
        NDArray tokens =
            step.create(
                new int[] {1, 5, 2, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 2}, new Shape(2, 8));
        assertArrayEquals(new long[] {2, 7}, model.text().poolIndex(tokens).toLongArray());
      }
    }
  }

  @Test
  void causalMaskHidesLaterTokens() {
    ModelPreset micro = TestPresets.micro();
    ModelPreset argmaxPooling =
        new ModelPreset(
            "test-argmax",
            micro.imageSize(),
            micro.patchSize(),
            micro.visionWidth(),
            micro.visionLayers(),
            micro.visionHeads(),
            micro.mlpRatio(),
            micro.embedDim(),
            micro.vocabSize(),
            micro.contextLength(),
            micro.textWidth(),
            micro.textLayers(),
            micro.textHeads(),
            "argmax");
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(argmaxPooling, root, 1)) {
      try (NDManager step = root.newSubManager()) {
        // the highest id first: every row pools at position 0
        NDArray a = step.create(new int[] {20, 5, 2, 0, 0, 0, 0, 0}, new Shape(1, 8));
        NDArray b = step.create(new int[] {20, 9, 9, 9, 4, 4, 4, 2}, new Shape(1, 8));
        NDArray c = step.create(new int[] {19, 5, 2, 0, 0, 0, 0, 0}, new Shape(1, 8));
        float later = model.encodeTexts(a).sub(model.encodeTexts(b)).abs().max().getFloat();
        float first = model.encodeTexts(a).sub(model.encodeTexts(c)).abs().max().getFloat();
        assertEquals(0f, later, 1e-6f, "the first position must not see later tokens");
        assertTrue(first > 1e-3f, "the first token itself must matter, diff " + first);
      }
    }
  }

  @Test
  void lossIsFiniteAndNearLogBatchAtInitAndGradientsReachEveryParameter() {
    ModelPreset preset = TestPresets.micro();
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(preset, root, 3)) {
      try (NDManager step = root.newSubManager()) {
        NDArray images = step.randomNormal(new Shape(8, 3, 32, 32));
        NDArray tokens = step.randomInteger(1, 32, new Shape(8, 8), DataType.INT32);
        NDArray loss;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
          loss = model.loss(images, tokens, 0.5);
          gc.backward(loss);
        }
        float value = loss.getFloat();
        assertTrue(Math.abs(value - Math.log(8)) < 1.5, "loss at init " + value);
        for (var p : model.getParameters()) {
          NDArray g = p.getValue().getArray().getGradient();
          g.attach(step);
          assertTrue(g.abs().sum().getFloat() > 0, "no gradient for " + p.getKey());
        }
      }
    }
  }

  @Test
  void wrongImageSizeIsRejectedNamingTheInput() {
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(TestPresets.micro(), root, 1)) {
      try (NDManager step = root.newSubManager()) {
        NDArray images = step.zeros(new Shape(2, 3, 64, 64));
        var e = assertThrows(IllegalArgumentException.class, () -> model.encodeImages(images, 0));
        assertTrue(e.getMessage().startsWith("images:"), e.getMessage());
      }
    }
  }
}
