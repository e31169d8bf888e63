package io.flipflow.activities.engine;

import static io.flipflow.activities.engine.NativeTestSupport.assumeNative;
import static io.flipflow.activities.engine.NativeTestSupport.maxAbsDiff;
import static io.flipflow.activities.engine.NativeTestSupport.normal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * libtorch's fused attention equals the explicit softmax(Q K^T / sqrt(d) + mask) V that flipflow's
 * model computes with DJL ops, in values and in the gradients reaching q, k and v, to 1e-5 absolute
 * in float32 (inputs and outputs are O(1)).
 */
class ScaledDotProductAttentionTest {

  static final double TOLERANCE = 1e-5;
  static final int B = 2, H = 3, L = 7, D = 8;

  @BeforeEach
  void requireLibrary() {
    assumeNative();
  }

  @ParameterizedTest
  @ValueSource(strings = {"none", "causal", "boolean-mask"})
  void fusedEqualsExplicitInValuesAndGradients(String masking) {
    Random random = new Random(15);
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      NDArray q = normal(m, random, 1, B, H, L, D);
      NDArray k = normal(m, random, 1, B, H, L, D);
      NDArray v = normal(m, random, 1, B, H, L, D);
      NDArray upstream = normal(m, random, 1, B, H, L, D); // loss = sum(out * upstream)
      boolean causal = masking.equals("causal");
      boolean[] keep = new boolean[L * L];
      for (int i = 0; i < L; i++) {
        for (int j = 0; j < L; j++) {
          keep[i * L + j] =
              masking.equals("boolean-mask") ? (i == j || random.nextBoolean()) : !causal || j <= i;
        }
      }
      NDArray boolMask = masking.equals("boolean-mask") ? m.create(keep, new Shape(L, L)) : null;
      float[] additive = new float[L * L];
      for (int i = 0; i < additive.length; i++) {
        additive[i] = keep[i] ? 0f : Float.NEGATIVE_INFINITY;
      }
      NDArray additiveMask = m.create(additive, new Shape(L, L));

      NDArray[] fused =
          run(
              m,
              q,
              k,
              v,
              upstream,
              (a, b, c) -> NativeTorch.scaledDotProductAttention(a, b, c, boolMask, causal, m));
      NDArray[] explicit =
          run(
              m,
              q,
              k,
              v,
              upstream,
              (a, b, c) -> {
                NDArray scores = a.matMul(b.transpose(0, 1, 3, 2)).div((float) Math.sqrt(D));
                return scores.add(additiveMask).softmax(-1).matMul(c);
              });
      String[] names = {"output", "dL/dq", "dL/dk", "dL/dv"};
      for (int i = 0; i < 4; i++) {
        double diff = maxAbsDiff(fused[i], explicit[i]);
        System.out.printf(
            "sdpa %s: %s max |fused - explicit| = %.3g (max |explicit| %.3g)%n",
            masking, names[i], diff, NativeTestSupport.maxAbs(explicit[i]));
        assertTrue(diff <= TOLERANCE, masking + " " + names[i] + " differs by " + diff);
        assertTrue(NativeTestSupport.maxAbs(explicit[i]) > 1e-2, names[i] + " is trivially zero");
      }
      // the masks matter: without them the fused output would differ (the comparison can fail)
      if (!masking.equals("none")) {
        NDArray unmasked = NativeTorch.scaledDotProductAttention(q, k, v, false);
        assertTrue(maxAbsDiff(unmasked, explicit[0]) > 100 * TOLERANCE);
      }
    }
  }

  interface Attention {
    NDArray apply(NDArray q, NDArray k, NDArray v);
  }

  /** Output and gradients of q, k, v for loss = sum(attention(q, k, v) * upstream). */
  private static NDArray[] run(
      NDManager m, NDArray q0, NDArray k0, NDArray v0, NDArray upstream, Attention attention) {
    NDArray q = q0.duplicate(), k = k0.duplicate(), v = v0.duplicate();
    for (NDArray a : new NDArray[] {q, k, v}) {
      a.setRequiresGradient(true);
    }
    NDArray out;
    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
      out = attention.apply(q, k, v);
      assertEquals(new Shape(B, H, L, D), out.getShape());
      gc.backward(out.mul(upstream).sum());
    }
    return new NDArray[] {out.stopGradient(), q.getGradient(), k.getGradient(), v.getGradient()};
  }
}
