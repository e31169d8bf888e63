package io.flipflow.activities.train;

import java.nio.file.Path;

/** The loss became NaN or infinite: the stage must fail, not continue silently. */
public final class TrainingDivergedException extends RuntimeException {

  private final long step;
  private final Path lastGoodCheckpoint;

  public TrainingDivergedException(long step, float loss, Path lastGoodCheckpoint) {
    super(
        "loss is "
            + loss
            + " at step "
            + step
            + "; last good checkpoint: "
            + (lastGoodCheckpoint == null ? "none" : lastGoodCheckpoint.toString()));
    this.step = step;
    this.lastGoodCheckpoint = lastGoodCheckpoint;
  }

  public long step() {
    return step;
  }

  /** May be null when no checkpoint was written yet. */
  public Path lastGoodCheckpoint() {
    return lastGoodCheckpoint;
  }
}
