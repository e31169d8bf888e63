package io.flipflow.activities.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.flipflow.activities.checkpoint.CheckpointState;
import io.flipflow.activities.data.staging.StagedDataReader;
import io.flipflow.activities.model.ImageNormalization;

/**
 * Training batches from staged shards: the reader's uint8 pixels and token ids as NDArrays. A
 * rank's reader hands over its own rows' images only, with every row's tokens ({@link Batch}).
 */
public final class StagedBatchSource implements BatchSource, AutoCloseable {
  private final StagedDataReader reader;
  private final int resolution;
  private final int contextLength;

  public StagedBatchSource(StagedDataReader reader) {
    this.reader = reader;
    this.resolution = reader.manifest().resolution();
    this.contextLength = reader.manifest().contextLength();
  }

  @Override
  public Batch next(NDManager manager, int batchSize) {
    StagedDataReader.RawBatch b = reader.next();
    if (b.size() != batchSize) {
      throw new IllegalStateException(
          "the staged reader was opened for batches of " + b.size() + ", not " + batchSize);
    }
    NDArray images = ImageNormalization.fromUint8(manager, b.pixels(), b.imageRows(), resolution);
    int tokenRows = b.rowShare() ? b.imageRows() : b.size();
    NDArray tokens = manager.create(b.tokens(), new Shape(tokenRows, contextLength));
    return b.rowShare()
        ? new Batch(images, tokens, null, b.firstImageRow())
        : new Batch(images, tokens);
  }

  @Override
  public long position() {
    return reader.position();
  }

  @Override
  public void seek(long position) {
    reader.seek(position);
  }

  @Override
  public CheckpointState.TokenizerRef tokenizer() {
    return new CheckpointState.TokenizerRef(
        reader.manifest().tokenizerSha256(), reader.manifest().tokenizer());
  }

  @Override
  public void close() {
    reader.close();
  }
}
