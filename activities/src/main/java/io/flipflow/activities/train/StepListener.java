package io.flipflow.activities.train;

/** Receives training progress every {@code metricsEvery} steps (and at the last step). */
@FunctionalInterface
public interface StepListener {

  void onStep(StepMetrics metrics);

  /** Progress of one step; {@code step} counts completed steps (1 after the first). */
  record StepMetrics(
      long step,
      long samplesSeen,
      float loss,
      float logitScale,
      double learningRate,
      double samplesPerSecond,
      double stepMillis) {}

  StepListener NONE = metrics -> {};
}
