package io.flipflow.activities.eval;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.GradMode;
import io.flipflow.activities.model.ImageNormalization;
import java.util.List;

/** The evaluation's view of a trained model: its two towers, with the run's own tokenizer. */
public final class ClipImageTextEncoder implements ImageTextEncoder {
  private final ClipModel model;
  private final CaptionTokenizer tokenizer;

  public ClipImageTextEncoder(ClipModel model, CaptionTokenizer tokenizer) {
    this.model = model;
    this.tokenizer = tokenizer;
  }

  @Override
  public int imageSize() {
    return model.preset().imageSize();
  }

  @Override
  public float[][] encodeImages(List<byte[]> images, double maskRatio, long seed) {
    int size = imageSize();
    int pixels = 3 * size * size;
    byte[] flat = new byte[images.size() * pixels];
    for (int i = 0; i < images.size(); i++) {
      System.arraycopy(images.get(i), 0, flat, i * pixels, pixels);
    }
    GradMode.offOnThisThread();
    if (maskRatio > 0) {
      Engine.getInstance().setRandomSeed((int) (seed ^ (seed >>> 32)));
    }
    try (NDManager m = model.manager().newSubManager()) {
      NDArray batch = ImageNormalization.fromUint8(m, flat, images.size(), size);
      return rows(model.encodeImages(batch, maskRatio));
    }
  }

  @Override
  public float[][] encodeTexts(List<String> texts) {
    GradMode.offOnThisThread();
    int t = tokenizer.contextLength();
    int[] ids = new int[texts.size() * t];
    for (int i = 0; i < texts.size(); i++) {
      tokenizer.encodeInto(texts.get(i), ids, i * t);
    }
    try (NDManager m = model.manager().newSubManager()) {
      return rows(model.encodeTexts(m.create(ids, new Shape(texts.size(), t))));
    }
  }

  private static float[][] rows(NDArray embeddings) {
    int n = (int) embeddings.getShape().get(0);
    int d = (int) embeddings.getShape().get(1);
    float[] flat = embeddings.toFloatArray();
    float[][] out = new float[n][d];
    for (int i = 0; i < n; i++) {
      System.arraycopy(flat, i * d, out[i], 0, d);
    }
    return out;
  }
}
