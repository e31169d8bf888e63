package io.flipflow.activities.train;

import ai.djl.ndarray.NDArray;

/**
 * One paired batch: images float32 (B, 3, H, W), normalised; token ids int32 (B, T), pad id 0 after
 * the end-of-text token. Row i of both is one image-caption pair. After text masking, {@code
 * tokens} holds the kept tokens (B, T') and {@code textPositions} their positions (B, T'); null for
 * whole captions.
 *
 * <p>Where a data-parallel rank's rows come from:
 *
 * <ul>
 *   <li>{@code firstRow} null: the images are the whole global batch's or this rank's rows (B/R),
 *       the tokens always the whole batch's, and text masking draws its noise over the whole batch
 *       in one sequence.
 *   <li>{@code firstRow} set: the batch is rows {@code firstRow ..} of the global batch, images and
 *       tokens alike (the whole batch when 0 in one process), and text masking draws each row's
 *       noise from (step, global row), so any split over ranks masks the same.
 * </ul>
 */
public record Batch(NDArray images, NDArray tokens, NDArray textPositions, Integer firstRow) {
  public Batch(NDArray images, NDArray tokens) {
    this(images, tokens, null, null);
  }

  public Batch(NDArray images, NDArray tokens, NDArray textPositions) {
    this(images, tokens, textPositions, null);
  }

  /** Whether this is a share of rows with row-seeded text masks ({@code firstRow} set). */
  public boolean isRowShare() {
    return firstRow != null;
  }
}
