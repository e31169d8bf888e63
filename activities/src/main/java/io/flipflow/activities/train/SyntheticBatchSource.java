package io.flipflow.activities.train;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.flipflow.activities.model.ModelPreset;

/**
 * A deterministic stand-in for real data: sample i is a coloured shape in one quadrant of a black
 * image, captioned "[SOT] colour shape quadrant [EOT]". Four colours x four shapes x four quadrants
 * give 64 distinct pairs; sample i of the stream is pair {@code i mod distinctPairs}.
 *
 * <p>Token ids: 0 pad, 1 start, 2 end, 3-6 colours, 7-10 shapes, 11-14 quadrants (vocab >= 15,
 * context >= 5); for a preset that pools at its {@code eosId}, that id ends the caption and the
 * words take the first twelve other ids from 2 up. Pixels are normalised as (x - 0.5) / 0.5.
 *
 * <p>In main, not among the test fixtures: the training tests and the benchmarks (infra's bench
 * package, which cannot depend on test code) both train on it.
 */
public final class SyntheticBatchSource implements BatchSource {

  public static final int MAX_DISTINCT_PAIRS = 64;
  private static final float[][] COLOURS = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}};

  private final int imageSize;
  private final int contextLength;
  private final int distinctPairs;
  private final int end;
  private final int[] words = new int[12]; // 4 colours, 4 shapes, 4 quadrants
  private long position;

  public SyntheticBatchSource(ModelPreset preset, int distinctPairs) {
    if (distinctPairs <= 0 || distinctPairs > MAX_DISTINCT_PAIRS) {
      throw new IllegalArgumentException(
          "distinctPairs must be in [1, " + MAX_DISTINCT_PAIRS + "], got " + distinctPairs);
    }
    if (preset.vocabSize() < 15 || preset.contextLength() < 5) {
      throw new IllegalArgumentException(
          "preset " + preset.name() + ": synthetic captions need vocabSize >= 15, context >= 5");
    }
    this.imageSize = preset.imageSize();
    this.contextLength = preset.contextLength();
    this.distinctPairs = distinctPairs;
    this.end = "eos".equals(preset.textPooling()) ? preset.eosId() : 2;
    int id = end == 2 ? 3 : 2;
    for (int w = 0; w < words.length; w++, id++) {
      if (id == end) {
        id++;
      }
      words[w] = id;
    }
    if (words[words.length - 1] >= preset.vocabSize()) {
      throw new IllegalArgumentException(
          "preset " + preset.name() + ": synthetic captions need token ids up to " + words[11]);
    }
  }

  @Override
  public Batch next(NDManager manager, int batchSize) {
    int pixels = imageSize * imageSize;
    float[] images = new float[batchSize * 3 * pixels];
    int[] tokens = new int[batchSize * contextLength];
    for (int b = 0; b < batchSize; b++) {
      int pair = (int) ((position + b) % distinctPairs);
      int colour = pair % 4;
      int shape = (pair / 4) % 4;
      int quadrant = (pair / 16) % 4;
      draw(images, b * 3 * pixels, colour, shape, quadrant);
      int t = b * contextLength;
      tokens[t] = 1;
      tokens[t + 1] = words[colour];
      tokens[t + 2] = words[4 + shape];
      tokens[t + 3] = words[8 + quadrant];
      tokens[t + 4] = end;
    }
    position += batchSize;
    return new Batch(
        manager.create(images, new Shape(batchSize, 3, imageSize, imageSize)),
        manager.create(tokens, new Shape(batchSize, contextLength)));
  }

  private void draw(float[] out, int offset, int colour, int shape, int quadrant) {
    int half = imageSize / 2;
    int x0 = (quadrant % 2) * half;
    int y0 = (quadrant / 2) * half;
    int pixels = imageSize * imageSize;
    for (int y = 0; y < imageSize; y++) {
      for (int x = 0; x < imageSize; x++) {
        // coordinates in [-1, 1] within the quadrant
        double u = (x - x0 + 0.5) / half * 2 - 1;
        double v = (y - y0 + 0.5) / half * 2 - 1;
        boolean inside =
            x >= x0 && x < x0 + half && y >= y0 && y < y0 + half && inShape(shape, u, v);
        for (int c = 0; c < 3; c++) {
          float value = inside ? COLOURS[colour][c] : 0f;
          out[offset + c * pixels + y * imageSize + x] = (value - 0.5f) / 0.5f;
        }
      }
    }
  }

  private static boolean inShape(int shape, double u, double v) {
    switch (shape) {
      case 0: // square
        return Math.abs(u) < 0.7 && Math.abs(v) < 0.7;
      case 1: // disc
        return u * u + v * v < 0.64;
      case 2: // triangle, apex up
        return v > -0.7 && v < 0.7 && Math.abs(u) < (v + 0.7) / 2;
      default: // plus
        return (Math.abs(u) < 0.25 && Math.abs(v) < 0.8)
            || (Math.abs(v) < 0.25 && Math.abs(u) < 0.8);
    }
  }

  @Override
  public long position() {
    return position;
  }

  @Override
  public void seek(long newPosition) {
    if (newPosition < 0) {
      throw new IllegalArgumentException("position must be >= 0, got " + newPosition);
    }
    this.position = newPosition;
  }
}
