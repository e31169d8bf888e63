package io.flipflow.activities.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;

/** Shared by the engine tests: the skip when the library is not built, random arrays, diffs. */
final class NativeTestSupport {

  private NativeTestSupport() {}

  /** Skips the test, printing why, where libflipflow_torch.so is not built or not loadable. */
  static void assumeNative() {
    boolean available = NativeTorch.isAvailable();
    if (!available) {
      System.out.println(
          "SKIPPED (native extension unavailable): " + NativeTorch.unavailableReason());
    }
    Assumptions.assumeTrue(available, NativeTorch::unavailableReason);
  }

  /** A float32 array of normal(0, scale) values from a seeded generator. */
  static NDArray normal(NDManager m, Random random, double scale, long... shape) {
    Shape s = new Shape(shape);
    float[] values = new float[(int) s.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) (random.nextGaussian() * scale);
    }
    return m.create(values, s);
  }

  static double maxAbsDiff(NDArray a, NDArray b) {
    float[] x = a.toFloatArray();
    float[] y = b.toFloatArray();
    if (x.length != y.length) {
      throw new AssertionError("sizes differ: " + x.length + " vs " + y.length);
    }
    double max = 0;
    for (int i = 0; i < x.length; i++) {
      max = Math.max(max, Math.abs((double) x[i] - y[i]));
    }
    return max;
  }

  static double maxAbs(NDArray a) {
    double max = 0;
    for (float f : a.toFloatArray()) {
      max = Math.max(max, Math.abs(f));
    }
    return max;
  }
}
