package io.flipflow.activities.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PatchMaskingTest {

  @Test
  void keptCountIsRoundedFractionOfTokens() {
    assertEquals(64, PatchMasking.keptTokens(64, 0));
    assertEquals(32, PatchMasking.keptTokens(64, 0.5));
    assertEquals(16, PatchMasking.keptTokens(64, 0.75));
    assertEquals(49, PatchMasking.keptTokens(196, 0.75)); // 0.25 * 196
    assertEquals(59, PatchMasking.keptTokens(196, 0.7)); // round(58.8)
    assertThrows(IllegalArgumentException.class, () -> PatchMasking.keptTokens(64, 1.0));
    assertThrows(IllegalArgumentException.class, () -> PatchMasking.keptTokens(64, -0.1));
  }

  @Test
  void keepsExactlyLPrimeDistinctTokensWithDifferentSubsetsPerSample() {
    try (NDManager m = NDManager.newBaseManager()) {
      Engine.getInstance().setRandomSeed(7);
      int batch = 8;
      int tokens = 64;
      NDArray keep = PatchMasking.sampleKeepIndices(m, batch, tokens, 0.75);
      assertEquals(new Shape(batch, 16), keep.getShape());
      long[] idx = keep.toLongArray();
      Set<Set<Long>> subsets = new HashSet<>();
      for (int b = 0; b < batch; b++) {
        Set<Long> subset = new HashSet<>();
        for (int k = 0; k < 16; k++) {
          long i = idx[b * 16 + k];
          assertTrue(i >= 0 && i < tokens);
          subset.add(i);
        }
        assertEquals(16, subset.size(), "indices of one sample must be distinct");
        subsets.add(subset);
      }
      assertEquals(batch, subsets.size(), "every sample must get its own subset");
    }
  }

  @Test
  void keptTokensEqualTheGatheredInputs() {
    try (NDManager m = NDManager.newBaseManager()) {
      Engine.getInstance().setRandomSeed(11);
      NDArray x = m.randomNormal(new Shape(3, 10, 4));
      NDArray keep = PatchMasking.sampleKeepIndices(m, 3, 10, 0.5);
      NDArray kept = PatchMasking.keep(x, keep);
      assertEquals(new Shape(3, 5, 4), kept.getShape());
      float[] xs = x.toFloatArray();
      float[] ks = kept.toFloatArray();
      long[] idx = keep.toLongArray();
      for (int b = 0; b < 3; b++) {
        for (int k = 0; k < 5; k++) {
          int token = (int) idx[b * 5 + k];
          float[] expected = Arrays.copyOfRange(xs, (b * 10 + token) * 4, (b * 10 + token + 1) * 4);
          float[] actual = Arrays.copyOfRange(ks, (b * 5 + k) * 4, (b * 5 + k + 1) * 4);
          assertEquals(Arrays.toString(expected), Arrays.toString(actual));
        }
      }
    }
  }

  /** Through the whole image tower: pixels of dropped patches get exactly zero gradient. */
  @Test
  void maskedPatchesGetZeroGradient() {
    ModelPreset preset = TestPresets.micro(); // 32 px, patch 8: 4x4 grid
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(preset, root, 5);
        NDManager m = root.newSubManager()) {
      int batch = 2;
      NDArray images = m.randomNormal(new Shape(batch, 3, 32, 32));
      images.setRequiresGradient(true);
      NDArray keep = m.create(new long[] {0, 5, 10, 15, 3, 2, 1, 0}, new Shape(batch, 4));
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        NDArray out =
            model
                .visual()
                .forward(new ParameterStore(m, false), new NDList(images, keep), true)
                .singletonOrThrow();
        gc.backward(out.square().sum());
      }
      float[] grad = images.getGradient().toFloatArray();
      long[] kept = keep.toLongArray();
      for (int b = 0; b < batch; b++) {
        Set<Integer> keptPatches = new HashSet<>();
        for (int k = 0; k < 4; k++) {
          keptPatches.add((int) kept[b * 4 + k]);
        }
        for (int patch = 0; patch < 16; patch++) {
          double sum = 0;
          int row = patch / 4;
          int col = patch % 4;
          for (int c = 0; c < 3; c++) {
            for (int y = row * 8; y < row * 8 + 8; y++) {
              for (int x = col * 8; x < col * 8 + 8; x++) {
                sum += Math.abs(grad[((b * 3 + c) * 32 + y) * 32 + x]);
              }
            }
          }
          if (keptPatches.contains(patch)) {
            assertNotEquals(0.0, sum, "kept patch " + patch + " of sample " + b);
          } else {
            assertEquals(0.0, sum, "masked patch " + patch + " of sample " + b);
          }
        }
      }
    }
  }
}
