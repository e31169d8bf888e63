package io.flipflow.activities.model;

/**
 * The fixed 2-D sine-cosine position embedding of MAE and FLIP ({@code get_2d_sincos_pos_embed}):
 * half the channels encode one coordinate, half the other, each as [sin(p w_k), cos(p w_k)] with
 * {@code w_k = 1 / 10000^(k / (D/4))}. Two layouts: {@link #openClip} is MAE's (and OpenCLIP's
 * {@code pos_embed_type: sin_cos_2d}): column first, then row, a zero row for the class token;
 * {@link #create} is the one flipflow used first (row first), kept so that old checkpoints, whose
 * weights never held the table, load as they were trained.
 *
 * <p>Chosen over a learned table because FLIP's encoder only ever sees a random subset of patches:
 * a fixed embedding gives every patch a well-defined position from step one, independent of how
 * often it happened to be kept, and costs no parameters (FLIP follows MAE here).
 */
public final class SinCosPositionEmbedding {

  private SinCosPositionEmbedding() {}

  /**
   * MAE's/OpenCLIP's table, row-major ((classToken ? 1 : 0) + gridSize^2, width): numpy's {@code
   * meshgrid(grid_w, grid_h)} puts the column coordinate first, so patch (row, col) is [sin(col w),
   * cos(col w), sin(row w), cos(row w)]; the class token's row (first) is zeros.
   */
  public static float[] openClip(int gridSize, int width, boolean classToken) {
    float[] legacy = create(gridSize, width);
    int quarter = width / 4;
    int offset = classToken ? width : 0;
    float[] out = new float[offset + legacy.length];
    for (int p = 0; p < gridSize * gridSize; p++) {
      int base = p * width;
      // the same values with the halves swapped: (col, row) instead of (row, col)
      System.arraycopy(legacy, base + 2 * quarter, out, offset + base, 2 * quarter);
      System.arraycopy(legacy, base, out, offset + base + 2 * quarter, 2 * quarter);
    }
    return out;
  }

  /** flipflow's first layout, (gridSize * gridSize, width), patch index = row * gridSize + col. */
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
