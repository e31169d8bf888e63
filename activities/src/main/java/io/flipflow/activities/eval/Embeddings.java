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

  /**
   * Dot product with eight independent float accumulators: the JIT keeps them in registers and
   * pipelines them, about 4x faster than one double accumulator; float precision is ample for
   * ranking unit vectors.
   */
  public static float dot(float[] a, float[] b) {
    requireDim(b, a.length);
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    int i = 0;
    for (int end = a.length - 7; i < end; i += 8) {
      s0 += a[i] * b[i];
      s1 += a[i + 1] * b[i + 1];
      s2 += a[i + 2] * b[i + 2];
      s3 += a[i + 3] * b[i + 3];
      s4 += a[i + 4] * b[i + 4];
      s5 += a[i + 5] * b[i + 5];
      s6 += a[i + 6] * b[i + 6];
      s7 += a[i + 7] * b[i + 7];
    }
    for (; i < a.length; i++) {
      s0 += a[i] * b[i];
    }
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
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
   * sorting (O(n) per query) and makes the tie rule explicit. A NaN score compares false with
   * everything, so it would rank first: it ranks past the last place instead (a miss at every k),
   * and a NaN competitor never outranks a number.
   */
  public static int rank(float[] scores, int index) {
    float s = scores[index];
    if (Float.isNaN(s)) {
      return scores.length;
    }
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
