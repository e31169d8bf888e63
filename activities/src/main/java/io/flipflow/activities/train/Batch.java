package io.flipflow.activities.train;

import ai.djl.ndarray.NDArray;

/**
 * One paired batch: images float32 (B, 3, H, W), normalised; token ids int32 (B, T), pad id 0 after
 * the end-of-text token. Row i of both is one image-caption pair. After text masking, {@code
 * tokens} holds the kept tokens (B, T') and {@code textPositions} their positions (B, T'); null for
 * whole captions. In a data-parallel gang a source may hand over only this rank's rows of the
 * images (B/R), with every row's tokens: text masking draws its noise over the global batch.
 */
public record Batch(NDArray images, NDArray tokens, NDArray textPositions) {
  public Batch(NDArray images, NDArray tokens) {
    this(images, tokens, null);
  }
}
