package io.flipflow.activities.eval;

import java.util.List;

/**
 * Vector maths on plain float arrays. Hand-written on purpose: evaluation multiplies a few thousand
 * embeddings of a few hundred dimensions, which plain Java does in well under a second, and plain
 * arrays keep the metrics exact, engine-free and easy to test.
 */
public final class Embeddings {
  private Embeddings() {}

  /** Returns a unit-length copy of {@code v}; a zero vector stays zero (like F.normalize's eps). */
  public static float[] l2Normalize(float[] v) {
    double sumSquares = 0;
    for (float x : v) {
      sumSquares += (double) x * x;
    }
    float[] out = new float[v.length];
    if (sumSquares == 0) {
      return out;
    }
    double inverseNorm = 1.0 / Math.sqrt(sumSquares);
    for (int i = 0; i < v.length; i++) {
      out[i] = (float) (v[i] * inverseNorm);
    }
    return out;
  }

  /** The normalised mean of vectors that are each normalised first (OpenCLIP's prompt ensemble). */
  public static float[] normalizedMeanOfNormalized(List<float[]> vectors) {
    if (vectors.isEmpty()) {
      throw new IllegalArgumentException("cannot average an empty list of embeddings");
    }
    int dim = vectors.get(0).length;
    double[] sum = new double[dim];
    for (float[] v : vectors) {
      requireDim(v, dim);
      float[] unit = l2Normalize(v);
      for (int i = 0; i < dim; i++) {
        sum[i] += unit[i];
      }
    }
    float[] mean = new float[dim];
    for (int i = 0; i < dim; i++) {
      mean[i] = (float) (sum[i] / vectors.size());
    }
    return l2Normalize(mean);
  }

  public static float dot(float[] a, float[] b) {
    requireDim(b, a.length);
    double sum = 0;
    for (int i = 0; i < a.length; i++) {
      sum += (double) a[i] * b[i];
    }
    return (float) sum;
  }

  /** Cosine similarity (dot product of unit vectors) of one query against every candidate. */
  public static float[] scores(float[] query, float[][] candidates) {
    float[] out = new float[candidates.length];
    for (int j = 0; j < candidates.length; j++) {
      out[j] = dot(query, candidates[j]);
    }
    return out;
  }

  /**
   * Zero-based rank of {@code index} when candidates are sorted by score, highest first, ties
   * broken by lower index: the position a stable descending sort would give it. Counting beats
   * sorting (O(n) per query) and makes the tie rule explicit.
   */
  public static int rank(float[] scores, int index) {
    float s = scores[index];
    int rank = 0;
    for (int j = 0; j < scores.length; j++) {
      if (scores[j] > s || (scores[j] == s && j < index)) {
        rank++;
      }
    }
    return rank;
  }

  private static void requireDim(float[] v, int dim) {
    if (v.length != dim) {
      throw new IllegalArgumentException(
          "embedding dimension mismatch: expected " + dim + ", got " + v.length);
    }
  }
}
