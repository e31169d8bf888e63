package io.flipflow.activities.model;

/**
 * The fixed 2-D sine-cosine position embedding of MAE and FLIP ({@code get_2d_sincos_pos_embed}):
 * half the channels encode the row, half the column, each as [sin(p w_k), cos(p w_k)] with {@code
 * w_k = 1 / 10000^(k / (D/4))}.
 *
 * <p>Chosen over a learned table because FLIP's encoder only ever sees a random subset of patches:
 * a fixed embedding gives every patch a well-defined position from step one, independent of how
 * often it happened to be kept, and costs no parameters (FLIP follows MAE here).
 */
public final class SinCosPositionEmbedding {

  private SinCosPositionEmbedding() {}

  /** Row-major (gridSize * gridSize, width) values, patch index = row * gridSize + column. */
  public static float[] create(int gridSize, int width) {
    if (width % 4 != 0) {
      throw new IllegalArgumentException("width must be divisible by 4, got " + width);
    }
    int quarter = width / 4;
    float[] out = new float[gridSize * gridSize * width];
    for (int row = 0; row < gridSize; row++) {
      for (int col = 0; col < gridSize; col++) {
        int base = (row * gridSize + col) * width;
        for (int k = 0; k < quarter; k++) {
          double omega = 1.0 / Math.pow(10000.0, (double) k / quarter);
          // first half: the row coordinate, second half: the column coordinate (as in MAE)
          out[base + k] = (float) Math.sin(row * omega);
          out[base + quarter + k] = (float) Math.cos(row * omega);
          out[base + 2 * quarter + k] = (float) Math.sin(col * omega);
          out[base + 3 * quarter + k] = (float) Math.cos(col * omega);
        }
      }
    }
    return out;
  }
}
