package io.flipflow.activities.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;

/**
 * The model's input normalisation: RGB in [0, 1], then CLIP's per-channel mean and std (OpenAI's
 * values, which OpenCLIP also uses). Training batches and evaluation images both pass through here,
 * so they can never disagree.
 */
public final class ImageNormalization {
  public static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
  public static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

  private ImageNormalization() {}

  /** uint8 CHW pixels of {@code batch} images, side {@code size}, to a normalised float batch. */
  public static NDArray fromUint8(NDManager manager, byte[] pixels, int batch, int size) {
    NDArray raw =
        manager.create(ByteBuffer.wrap(pixels), new Shape(batch, 3, size, size), DataType.UINT8);
    return normalise(manager, raw.toType(DataType.FLOAT32, false).div(255f));
  }

  private static NDArray normalise(NDManager manager, NDArray unit) {
    NDArray mean = manager.create(MEAN, new Shape(1, 3, 1, 1));
    NDArray std = manager.create(STD, new Shape(1, 3, 1, 1));
    return unit.sub(mean).div(std);
  }
}
