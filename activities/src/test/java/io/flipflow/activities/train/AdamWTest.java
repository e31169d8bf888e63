package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.util.Pair;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.ModelPreset;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AdamWTest {

  @Test
  void weightDecayOnlyForMatricesNotBiasesNormsEmbeddingsOrScale() {
    ModelPreset preset = ClipTrainerTest.micro();
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(preset, root, 1)) {
      Map<String, Boolean> byName = new HashMap<>();
      for (Pair<String, Parameter> p : model.getParameters()) {
        byName.merge(p.getValue().getName(), AdamW.decays(p.getValue()), (a, b) -> a && b);
      }
      assertTrue(byName.get("weight"), "conv and linear weights decay");
      assertFalse(byName.get("bias"));
      assertFalse(byName.get("gamma"));
      assertFalse(byName.get("beta"));
      assertFalse(byName.get("token_embedding"));
      assertFalse(byName.get("positional_embedding"));
      assertFalse(byName.get("logit_scale"));
    }
  }

  /**
   * Adam's first update is lr * g / (|g| + eps) ~ lr * sign(g) per element; decoupled decay adds lr
   * * wd * w for decayed parameters only. Checked on the real model after one backward pass.
   */
  @Test
  void firstUpdateIsSignStepPlusDecoupledDecay() {
    ModelPreset preset = ClipTrainerTest.micro();
    double lr = 1e-2;
    double wd = 0.5;
    TrainConfig config =
        new TrainConfig("test-micro", 0, 4, 10, 1, 0, wd, 0.9, 0.98, 1e-12, 0, 1, 10, 1);
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(preset, root, 1);
        NDManager step = root.newSubManager()) {
      Batch batch = new SyntheticBatchSource(preset, 16).next(step, 4);
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        gc.backward(model.loss(batch.images(), batch.tokens(), 0));
      }
      Map<String, float[]> before = new HashMap<>();
      Map<String, float[]> grads = new HashMap<>();
      for (Pair<String, Parameter> p : model.getParameters()) {
        before.put(p.getKey(), p.getValue().getArray().toFloatArray());
        NDArray g = p.getValue().getArray().getGradient();
        g.attach(step);
        grads.put(p.getKey(), g.toFloatArray());
      }
      new AdamW(config, model.manager().newSubManager()).update(model.getParameters(), lr, step);
      int checked = 0;
      for (Pair<String, Parameter> p : model.getParameters()) {
        float[] w0 = before.get(p.getKey());
        float[] g = grads.get(p.getKey());
        float[] w1 = p.getValue().getArray().toFloatArray();
        boolean decays = AdamW.decays(p.getValue());
        for (int i = 0; i < w0.length; i++) {
          if (Math.abs(g[i]) < 1e-6) {
            continue; // sign step ill-conditioned near zero gradient
          }
          double expected = w0[i] - lr * (Math.signum(g[i]) + (decays ? wd * w0[i] : 0));
          assertEquals(expected, w1[i], 1e-5, p.getKey() + "[" + i + "]");
          checked++;
        }
        // gradients are zeroed after the update
        NDArray g1 = p.getValue().getArray().getGradient();
        g1.attach(step);
        assertEquals(0f, g1.abs().sum().getFloat(), p.getKey());
      }
      assertTrue(checked > 10_000, "checked " + checked);
    }
  }
}
