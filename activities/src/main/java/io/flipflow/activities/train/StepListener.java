package io.flipflow.activities.train;

/** Receives training progress every {@code metricsEvery} steps (and at the last step). */
@FunctionalInterface
public interface StepListener {

  void onStep(StepMetrics metrics);

  /**
   * Progress of one step; {@code step} counts completed steps (1 after the first). {@code loss} is
   * the total; {@code reconstructionLoss} is Table 1f's decoder's part of it, NaN without one.
   */
  record StepMetrics(
      long step,
      long samplesSeen,
      float loss,
      float logitScale,
      double learningRate,
      double samplesPerSecond,
      double stepMillis,
      float reconstructionLoss) {}

  StepListener NONE = metrics -> {};
}
