package io.flipflow.activities.eval;

import java.util.Locale;

/**
 * How images are shown to the encoder at evaluation (FLIP, Table 1d): the full image, a single view
 * with a fraction {@code maskRatio} of the patches dropped at random, or an ensemble of {@code
 * views} such random views whose normalised embeddings are averaged and re-normalised.
 *
 * @param maskRatio {@code 0 <= maskRatio < 1}
 * @param views number of random views averaged; 1 for the full image
 * @param seed the random masks of all views are a function of this seed (and of the batch); with
 *     equal seeds, a single masked view sees the same masks as an ensemble's first view
 */
public record InferenceView(double maskRatio, int views, long seed) {

  public InferenceView {
    if (!(maskRatio >= 0 && maskRatio < 1)) {
      throw new IllegalArgumentException("maskRatio must be in [0, 1), got " + maskRatio);
    }
    if (views < 1) {
      throw new IllegalArgumentException("views must be at least 1, got " + views);
    }
    if (maskRatio == 0 && views != 1) {
      throw new IllegalArgumentException(
          "an unmasked view is deterministic: views must be 1 when maskRatio is 0, got " + views);
    }
  }

  public static InferenceView full() {
    return new InferenceView(0, 1, 0);
  }

  public static InferenceView masked(double maskRatio, long seed) {
    return new InferenceView(maskRatio, 1, seed);
  }

  public static InferenceView ensemble(double maskRatio, int views, long seed) {
    return new InferenceView(maskRatio, views, seed);
  }

  public boolean isFull() {
    return maskRatio == 0;
  }

  /** {@code full}, {@code mask0.75} or {@code mask0.75x8}: the label stored with each result. */
  public String label() {
    if (isFull()) {
      return "full";
    }
    String r = String.format(Locale.ROOT, "mask%s", stripZeros(maskRatio));
    return views == 1 ? r : r + "x" + views;
  }

  private static String stripZeros(double d) {
    return new java.math.BigDecimal(Double.toString(d)).stripTrailingZeros().toPlainString();
  }
}
