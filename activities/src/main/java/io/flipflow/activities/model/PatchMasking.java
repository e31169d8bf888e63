package io.flipflow.activities.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * FLIP's masking: per sample keep a uniformly random subset of {@code L' = round((1 - r) L)} image
 * tokens (argsort of uniform noise, take the first L', gather). The dropped tokens are simply
 * absent from the encoder, which is where FLIP's speed-up comes from; there is no decoder (but for
 * the Table 1f ablation, {@link MaeDecoder}).
 *
 * <p>The noise comes from the engine's generator: the trainer seeds it from (run seed, step) at
 * each step so that a resumed run draws the same masks.
 */
public final class PatchMasking {

  private PatchMasking() {}

  /** {@code L' = round((1 - r) L)}, at least one token. */
  public static int keptTokens(int numTokens, double maskRatio) {
    checkRatio(maskRatio);
    return Math.max(1, (int) Math.round((1.0 - maskRatio) * numTokens));
  }

  /**
   * Indices of the kept tokens, int64 (B, L'), a fresh random subset per sample, in random order
   * (order is irrelevant to the encoder: position embeddings were added before masking).
   */
  public static NDArray sampleKeepIndices(
      NDManager manager, int batch, int numTokens, double maskRatio) {
    int keep = keptTokens(numTokens, maskRatio);
    return sampleOrder(manager, batch, numTokens).get(":, :" + keep);
  }

  /**
   * A random order of all tokens per sample, int64 (B, L): its first {@code keptTokens} columns are
   * exactly what {@link #sampleKeepIndices} draws from the same generator state, the rest are the
   * dropped tokens (what Table 1f's decoder reconstructs).
   */
  public static NDArray sampleOrder(NDManager manager, int batch, int numTokens) {
    NDArray noise = manager.randomUniform(0f, 1f, new Shape(batch, numTokens));
    return noise.argSort(1).toType(DataType.INT64, false);
  }

  /** Gathers tokens (B, L, D) at {@code keep} (B, L') into (B, L', D); gradients flow back. */
  public static NDArray keep(NDArray tokens, NDArray keep) {
    Shape shape = tokens.getShape();
    long batch = shape.get(0);
    long width = shape.get(2);
    long kept = keep.getShape().get(1);
    NDArray index = keep.expandDims(2).broadcast(new Shape(batch, kept, width));
    return tokens.gather(index, 1);
  }

  static void checkRatio(double maskRatio) {
    if (!(maskRatio >= 0.0 && maskRatio < 1.0)) {
      throw new IllegalArgumentException("maskRatio must be in [0, 1), got " + maskRatio);
    }
  }
}
