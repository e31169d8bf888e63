package io.flipflow.activities.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

/**
 * Why {@link Precision#BF16} runs through flipflow's native extension and not through DJL: a DJL
 * cast cuts the autograd graph, so weights used through a cast get no gradient. (DJL 0.36's JNI
 * also has no mapping for bfloat16: any DJL op that names a tensor's dtype, such as {@code
 * softmax}, aborts the JVM on one; {@code MultiHeadSelfAttention} casts its logits to float32
 * first.) If this test starts failing, DJL's casts keep gradients: revisit {@link Precision}.
 */
class DjlPrecisionLimitsTest {

  @Test
  void aCastInsideTheGraphLeavesTheWeightWithoutGradient() {
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      NDArray w = m.ones(new Shape(4, 3));
      w.setRequiresGradient(true);
      NDArray x = m.ones(new Shape(5, 3));
      try (GradientCollector g = Engine.getInstance().newGradientCollector()) {
        NDArray half =
            Linear.linear(x.toType(DataType.FLOAT16, false), w.toType(DataType.FLOAT16, false))
                .singletonOrThrow();
        NDArray direct = Linear.linear(x, w).singletonOrThrow();
        // the direct path gives every weight a gradient of 5; the cast path adds nothing
        g.backward(direct.sum().add(half.toType(DataType.FLOAT32, false).sum()));
      }
      assertEquals(5f * 12, w.getGradient().sum().getFloat(), 1e-4);
    }
  }
}
