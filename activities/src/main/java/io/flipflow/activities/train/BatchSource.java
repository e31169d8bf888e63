package io.flipflow.activities.train;

import ai.djl.ndarray.NDManager;
import io.flipflow.activities.checkpoint.CheckpointState;

/**
 * Where training batches come from (staged shards in production, {@link SyntheticBatchSource} in
 * tests). Positions count samples handed out, so a resumed run can {@link #seek} to exactly where
 * the checkpoint left off.
 */
public interface BatchSource {

  /** The next {@code batchSize} pairs, created in {@code manager} (the step's manager). */
  Batch next(NDManager manager, int batchSize);

  /** Samples handed out so far (the data position saved in checkpoints). */
  long position();

  /** Continue from {@code position} as if that many samples had been read. */
  void seek(long position);

  /**
   * The tokenizer the captions were encoded with, which checkpoints name (and carry); null when
   * there is none to name (synthetic data).
   */
  default CheckpointState.TokenizerRef tokenizer() {
    return null;
  }
}
