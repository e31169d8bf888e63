package io.flipflow.activities.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Constants on the differentiable path survive the garbage collector: after collections that free
 * and reuse direct memory between the forward and the backward pass, the gradients are exact. With
 * DJL's own {@code x.mul(0.5f)} in place of {@link Scalars#mul} this test read -3.9e37.
 */
class ScalarsTest {

  @Test
  void gradientsThroughConstantsAreExactAfterGarbageCollection() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray x = m.full(new Shape(1000), 2f);
      x.setRequiresGradient(true);
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        NDArray y;
        try (NDManager scope = m.newSubManager()) { // as the model's forward scopes do
          scope.tempAttachAll(x);
          // d/dx of (0.5 x) * x / 4, at most 100, at least 0: x / 4 = 0.5 at x = 2
          y =
              Scalars.minimum(Scalars.maximum(Scalars.div(Scalars.mul(x, 0.5).mul(x), 4), 0), 100)
                  .sum();
          y.attach(m);
        }
        churnDirectMemory();
        gc.backward(y);
      }
      float[] g = x.getGradient().toFloatArray();
      assertEquals(0.5f, g[0], 1e-6f);
      assertEquals(0.5f, g[999], 1e-6f);
    }
  }

  /** Collections free the closed arrays' direct buffers; new small buffers take their memory. */
  static void churnDirectMemory() {
    for (int round = 0; round < 20; round++) {
      System.gc();
      List<ByteBuffer> buffers = new ArrayList<>();
      for (int i = 0; i < 2000; i++) {
        ByteBuffer b = ByteBuffer.allocateDirect(4);
        b.putFloat(0, 123f);
        buffers.add(b);
      }
    }
  }
}
