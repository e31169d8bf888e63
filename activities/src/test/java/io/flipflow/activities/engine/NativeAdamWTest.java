package io.flipflow.activities.engine;

import static io.flipflow.activities.engine.NativeTestSupport.assumeNative;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.flipflow.activities.engine.NativeTorch.AdamWKernel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The multi-tensor AdamW step equals textbook AdamW (Loshchilov and Hutter, as torch.optim.AdamW:
 * decoupled decay on the weight before the step, bias-corrected moments, eps added to the corrected
 * sqrt(v)) computed in double precision, for 3 steps over two groups (decayed matrices, undecayed
 * vectors), within {@value #TOLERANCE} absolute on weights of order 1.
 *
 * <p>How we know the comparison can fail: the same test computes the reference with each classic
 * mistake (no bias correction, eps inside the sqrt, eps added before the v correction, coupled L2
 * decay, no eps) and asserts each lands farther than 20x the tolerance from the correct one, so a
 * kernel with any of them would fail. eps is large (1e-3) and gradients small (~1e-3) on purpose,
 * so that eps placement moves the update. Checked by hand as well (2026-12): passing {@code 2 *
 * eps} from NativeTorch.adamW made all four native comparisons fail (off by 4.6e-3), and dropping
 * the first-moment bias correction in tensor_ops.cc's foreach path made the FOREACH one fail (off
 * by 1.25e-2) while the fused ones still passed.
 */
class NativeAdamWTest {

  static final double TOLERANCE = 1e-6;
  static final double LR_MATRICES = 1e-2, LR_VECTORS = 5e-3, BETA1 = 0.9, BETA2 = 0.95;
  static final double EPS = 1e-3, WEIGHT_DECAY = 0.1;
  static final long[][] SHAPES = {{4, 3}, {5, 2}, {3}, {6}}; // two matrices, two vectors
  static final int STEPS = 3;

  @BeforeEach
  void requireLibrary() {
    assumeNative();
  }

  @ParameterizedTest
  @EnumSource(AdamWKernel.class)
  void fusedOrForeachEqualsTextbookAdamW(AdamWKernel kernel) {
    runAndCompare(kernel, false);
  }

  @Test
  void parametersOwnGradientsFromBackwardGiveTheSameUpdate() {
    runAndCompare(AdamWKernel.AUTO, true);
  }

  @Test
  void mistakesAreFarOutsideTheTolerance() {
    Problem p = new Problem();
    double[][] right = reference(p, Variant.TEXTBOOK);
    for (Variant v : Variant.values()) {
      if (v == Variant.TEXTBOOK) {
        continue;
      }
      double d = maxDiff(right, reference(p, v));
      System.out.printf(
          "AdamW reference with %s differs from textbook by %.3g (tolerance %.1g)%n",
          v, d, TOLERANCE);
      assertTrue(d > 20 * TOLERANCE, v + " is indistinguishable from textbook AdamW: " + d);
    }
  }

  @Test
  void fusedKernelRefusedForMixedDtypes() {
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      NDArray p = m.ones(new Shape(3));
      NDArray g = m.ones(new Shape(3)).toType(ai.djl.ndarray.types.DataType.FLOAT64, false);
      AdamWGroup group =
          new AdamWGroup(
              List.of(p),
              List.of(g),
              List.of(m.zeros(new Shape(3))),
              List.of(m.zeros(new Shape(3))),
              1e-3,
              0.9,
              0.999,
              1e-8,
              0);
      NativeTorchException e =
          assertThrows(
              NativeTorchException.class,
              () -> NativeTorch.adamW(List.of(group), 1, AdamWKernel.FUSED, false));
      assertTrue(e.getMessage().contains("fused kernel needs"), e.getMessage());
      // AUTO falls back to foreach, which refuses mixed dtypes too: an exception, not a crash
      assertThrows(
          NativeTorchException.class,
          () -> NativeTorch.adamW(List.of(group), 1, AdamWKernel.AUTO, false));
      // a shape mismatch comes back as an exception, not a crash
      AdamWGroup bad =
          new AdamWGroup(
              List.of(p),
              List.of(m.ones(new Shape(4))),
              List.of(m.zeros(new Shape(3))),
              List.of(m.zeros(new Shape(3))),
              1e-3,
              0.9,
              0.999,
              1e-8,
              0);
      assertThrows(
          NativeTorchException.class,
          () -> NativeTorch.adamW(List.of(bad), 1, AdamWKernel.AUTO, false));
    }
  }

  @Test
  void clipAndUnscaleGradients() {
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      NDArray a = m.zeros(new Shape(2));
      NDArray b = m.zeros(new Shape(2));
      a.setRequiresGradient(true);
      b.setRequiresGradient(true);
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        // grads: a -> (3, 0), b -> (0, 4): global norm 5
        gc.backward(
            a.mul(m.create(new float[] {3, 0}))
                .sum()
                .add(b.mul(m.create(new float[] {0, 4})).sum()));
      }
      assertEquals(5.0, NativeTorch.clipGradientNorm(List.of(a, b), 10), 1e-6); // below: untouched
      assertEquals(3f, a.getGradient().getFloat(0), 1e-6);
      assertEquals(5.0, NativeTorch.clipGradientNorm(List.of(a, b), 1), 1e-6);
      assertEquals(3f / (5 + 1e-6), a.getGradient().getFloat(0), 1e-6); // scaled to norm 1
      assertEquals(4f / (5 + 1e-6), b.getGradient().getFloat(1), 1e-6);
      assertFalse(NativeTorch.unscaleGradients(List.of(a, b), 0.5));
      assertEquals(0.5f * 4f / (5 + 1e-6), b.getGradient().getFloat(1), 1e-6);
      // an inf gradient is found (the check reads the gradients; it does not overflow them)
      NDArray c = m.zeros(new Shape(2));
      c.setRequiresGradient(true);
      try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
        gc.backward(c.mul(m.create(new float[] {Float.POSITIVE_INFINITY, 1})).sum());
      }
      assertTrue(NativeTorch.unscaleGradients(List.of(a, b, c), 0.5));
    }
  }

  // ---- the problem and its double-precision references ----

  /** Seeded initial weights and per-step gradients of order 1e-3. */
  static final class Problem {
    final double[][] weights = new double[SHAPES.length][];
    final double[][][] grads = new double[STEPS][SHAPES.length][];

    Problem() {
      Random r = new Random(7);
      for (int i = 0; i < SHAPES.length; i++) {
        int n = (int) new Shape(SHAPES[i]).size();
        weights[i] = new double[n];
        for (int j = 0; j < n; j++) {
          weights[i][j] = (float) r.nextGaussian(); // representable in float32 exactly
        }
        for (int s = 0; s < STEPS; s++) {
          grads[s][i] = new double[n];
          for (int j = 0; j < n; j++) {
            grads[s][i][j] = (float) (r.nextGaussian() * 1e-3);
          }
        }
      }
    }

    boolean decayed(int i) {
      return SHAPES[i].length >= 2;
    }
  }

  enum Variant {
    TEXTBOOK,
    NO_BIAS_CORRECTION,
    EPS_INSIDE_SQRT,
    EPS_BEFORE_V_CORRECTION,
    COUPLED_L2,
    NO_EPS
  }

  static double[][] reference(Problem p, Variant variant) {
    double[][] w = new double[SHAPES.length][];
    double[][] m = new double[SHAPES.length][];
    double[][] v = new double[SHAPES.length][];
    for (int i = 0; i < SHAPES.length; i++) {
      w[i] = p.weights[i].clone();
      m[i] = new double[w[i].length];
      v[i] = new double[w[i].length];
    }
    for (int t = 1; t <= STEPS; t++) {
      double bc1 = variant == Variant.NO_BIAS_CORRECTION ? 1 : 1 - Math.pow(BETA1, t);
      double bc2 = variant == Variant.NO_BIAS_CORRECTION ? 1 : 1 - Math.pow(BETA2, t);
      for (int i = 0; i < SHAPES.length; i++) {
        double lr = p.decayed(i) ? LR_MATRICES : LR_VECTORS;
        double wd = p.decayed(i) ? WEIGHT_DECAY : 0;
        for (int j = 0; j < w[i].length; j++) {
          double g = p.grads[t - 1][i][j];
          if (variant == Variant.COUPLED_L2) {
            g += wd * w[i][j];
          } else {
            w[i][j] *= 1 - lr * wd; // decoupled, on the weight before the step
          }
          m[i][j] = BETA1 * m[i][j] + (1 - BETA1) * g;
          v[i][j] = BETA2 * v[i][j] + (1 - BETA2) * g * g;
          double mHat = m[i][j] / bc1, vHat = v[i][j] / bc2;
          double denom =
              switch (variant) {
                case EPS_INSIDE_SQRT -> Math.sqrt(vHat + EPS);
                case EPS_BEFORE_V_CORRECTION -> (Math.sqrt(v[i][j]) + EPS) / Math.sqrt(bc2);
                case NO_EPS -> Math.sqrt(vHat);
                default -> Math.sqrt(vHat) + EPS;
              };
          w[i][j] -= lr * mHat / denom;
        }
      }
    }
    return w;
  }

  static double maxDiff(double[][] a, double[][] b) {
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      for (int j = 0; j < a[i].length; j++) {
        max = Math.max(max, Math.abs(a[i][j] - b[i][j]));
      }
    }
    return max;
  }

  private static void runAndCompare(AdamWKernel kernel, boolean fromBackward) {
    Problem problem = new Problem();
    double[][] expected = reference(problem, Variant.TEXTBOOK);
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      List<NDArray> w = new ArrayList<>(), mm = new ArrayList<>(), vv = new ArrayList<>();
      for (int i = 0; i < SHAPES.length; i++) {
        w.add(m.create(toFloat(problem.weights[i]), new Shape(SHAPES[i])));
        mm.add(m.zeros(new Shape(SHAPES[i])));
        vv.add(m.zeros(new Shape(SHAPES[i])));
        w.get(i).setRequiresGradient(true);
      }
      AdamWKernel used = null;
      for (int t = 1; t <= STEPS; t++) {
        List<NDArray> g = new ArrayList<>();
        for (int i = 0; i < SHAPES.length; i++) {
          g.add(m.create(toFloat(problem.grads[t - 1][i]), new Shape(SHAPES[i])));
        }
        List<AdamWGroup> groups;
        if (fromBackward) { // each weight's own .grad, from loss = sum(w * g)
          try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray loss = null;
            for (int i = 0; i < SHAPES.length; i++) {
              NDArray term = w.get(i).mul(g.get(i)).sum();
              loss = loss == null ? term : loss.add(term);
            }
            gc.backward(loss);
          }
          groups =
              List.of(
                  AdamWGroup.ofParameters(
                      w.subList(0, 2),
                      mm.subList(0, 2),
                      vv.subList(0, 2),
                      LR_MATRICES,
                      BETA1,
                      BETA2,
                      EPS,
                      WEIGHT_DECAY),
                  AdamWGroup.ofParameters(
                      w.subList(2, 4),
                      mm.subList(2, 4),
                      vv.subList(2, 4),
                      LR_VECTORS,
                      BETA1,
                      BETA2,
                      EPS,
                      0));
        } else {
          groups =
              List.of(
                  new AdamWGroup(
                      w.subList(0, 2),
                      g.subList(0, 2),
                      mm.subList(0, 2),
                      vv.subList(0, 2),
                      LR_MATRICES,
                      BETA1,
                      BETA2,
                      EPS,
                      WEIGHT_DECAY),
                  new AdamWGroup(
                      w.subList(2, 4),
                      g.subList(2, 4),
                      mm.subList(2, 4),
                      vv.subList(2, 4),
                      LR_VECTORS,
                      BETA1,
                      BETA2,
                      EPS,
                      0));
        }
        used = NativeTorch.adamW(groups, t, kernel, fromBackward);
        if (fromBackward) {
          for (NDArray p : w) {
            assertEquals(0.0, NativeTestSupport.maxAbs(p.getGradient()), "gradients zeroed");
          }
        }
      }
      double max = 0;
      for (int i = 0; i < SHAPES.length; i++) {
        float[] got = w.get(i).toFloatArray();
        for (int j = 0; j < got.length; j++) {
          max = Math.max(max, Math.abs(got[j] - expected[i][j]));
        }
      }
      double moved = maxDiff(expected, problem.weights);
      System.out.printf(
          "AdamW %s%s (ran %s): max |native - textbook| after %d steps = %.3g"
              + " (weights moved up to %.3g; tolerance %.1g)%n",
          kernel, fromBackward ? " from backward" : "", used, STEPS, max, moved, TOLERANCE);
      assertTrue(max <= TOLERANCE, kernel + " differs from textbook AdamW by " + max);
      if (kernel == AdamWKernel.FOREACH) {
        assertEquals(AdamWKernel.FOREACH, used);
      } else {
        assertEquals(AdamWKernel.FUSED, used); // CPU float32: the fused kernel runs
      }
    }
  }

  private static float[] toFloat(double[] a) {
    float[] f = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      f[i] = (float) a[i];
    }
    return f;
  }
}
