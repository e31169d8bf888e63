package io.flipflow.activities.train;

import io.flipflow.workflows.plan.TrainConfig;

/** Linear warmup from 0 to the peak, then cosine decay to 0 at the last step (FLIP, CLIP). */
public final class LearningRateSchedule {

  private final double peak;
  private final long warmupSteps;
  private final long totalSteps;

  public LearningRateSchedule(double peak, long warmupSteps, long totalSteps) {
    this.peak = peak;
    this.warmupSteps = warmupSteps;
    this.totalSteps = totalSteps;
  }

  public static LearningRateSchedule of(TrainConfig config) {
    return new LearningRateSchedule(
        config.peakLearningRate(), config.warmupSteps(), config.totalSteps());
  }

  /** The rate for 0-based step {@code step}. */
  public double at(long step) {
    if (step < warmupSteps) {
      return peak * (step + 1) / warmupSteps;
    }
    long decaySteps = Math.max(1, totalSteps - warmupSteps);
    double progress = Math.min(1.0, (double) (step - warmupSteps) / decaySteps);
    return peak * 0.5 * (1 + Math.cos(Math.PI * progress));
  }
}
