package io.flipflow.activities.train;

import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.model.Precision;

/**
 * Everything one training stage needs besides its data: pretraining (mask ratio > 0) and unmasked
 * tuning (mask ratio 0, smaller LR, few samples) are the same loop with different configs.
 *
 * @param preset model preset name (or a preset .json path)
 * @param maskRatio fraction of image patches dropped, in [0, 1)
 * @param batchSize samples per step
 * @param totalSteps optimizer steps of this stage
 * @param baseLearningRate learning rate per 256 samples; the applied peak is base * batch / 256
 * @param warmupSteps linear warmup from 0 to the peak, then cosine decay to 0 at totalSteps
 * @param weightDecay decoupled weight decay for matrices (not for biases, norms, embeddings, scale)
 * @param gradClipNorm global gradient-norm clip; 0 turns clipping off
 * @param seed seeds the initial weights and every step's mask noise (with the step number)
 * @param checkpointEvery steps between checkpoints (a checkpoint is also written at the end/stop)
 * @param metricsEvery steps between {@link StepListener} calls (the last step is always reported)
 * @param precision {@code fp32} or {@code bf16} (see {@link Precision}); null, as in checkpoints
 *     written before the field existed, reads as fp32
 */
public record TrainConfig(
    String preset,
    double maskRatio,
    int batchSize,
    long totalSteps,
    double baseLearningRate,
    long warmupSteps,
    double weightDecay,
    double beta1,
    double beta2,
    double epsilon,
    double gradClipNorm,
    long seed,
    long checkpointEvery,
    long metricsEvery,
    String precision) {

  public TrainConfig {
    precision = precision == null ? Precision.FP32.label() : precision;
  }

  /** A float32 config (the fields before {@code precision} existed). */
  public TrainConfig(
      String preset,
      double maskRatio,
      int batchSize,
      long totalSteps,
      double baseLearningRate,
      long warmupSteps,
      double weightDecay,
      double beta1,
      double beta2,
      double epsilon,
      double gradClipNorm,
      long seed,
      long checkpointEvery,
      long metricsEvery) {
    this(
        preset,
        maskRatio,
        batchSize,
        totalSteps,
        baseLearningRate,
        warmupSteps,
        weightDecay,
        beta1,
        beta2,
        epsilon,
        gradClipNorm,
        seed,
        checkpointEvery,
        metricsEvery,
        null);
  }

  /**
   * Defaults after FLIP's pretraining table: AdamW with betas (0.9, 0.95), weight decay 0.2, linear
   * warmup then cosine decay. The paper's learning rate (about 5e-4 at its 32k batch) is tuned for
   * huge batches; small runs here want a larger per-256 base, so the default base is 5e-4 per 256
   * samples and studies override it.
   */
  public static TrainConfig pretraining(
      String preset, double maskRatio, int batchSize, long steps) {
    return new TrainConfig(
        preset,
        maskRatio,
        batchSize,
        steps,
        5e-4,
        Math.min(steps / 10, 2_000),
        0.2,
        0.9,
        0.95,
        1e-6,
        0.0,
        0,
        Math.max(1, steps / 10),
        10,
        null);
  }

  /**
   * FLIP's unmasked tuning after pretraining: mask 0, a tenth of the LR, a small fraction of the
   * pretraining steps (the paper uses a few percent of the samples).
   */
  public TrainConfig unmaskedTuning(double fractionOfSteps) {
    if (!(fractionOfSteps > 0 && fractionOfSteps <= 1)) {
      throw new IllegalArgumentException(
          "fractionOfSteps must be in (0, 1], got " + fractionOfSteps);
    }
    long steps = Math.max(1, Math.round(totalSteps * fractionOfSteps));
    return new TrainConfig(
        preset,
        0.0,
        batchSize,
        steps,
        baseLearningRate / 10,
        Math.min(warmupSteps, steps / 10),
        weightDecay,
        beta1,
        beta2,
        epsilon,
        gradClipNorm,
        seed + 1,
        Math.max(1, Math.min(checkpointEvery, steps)),
        metricsEvery,
        precision);
  }

  /** Steps needed to see {@code samples} samples at {@code batchSize} (rounded up). */
  public static long stepsForSamples(long samples, int batchSize) {
    if (samples <= 0 || batchSize <= 0) {
      throw new IllegalArgumentException(
          "samples and batchSize must be positive, got " + samples + ", " + batchSize);
    }
    return (samples + batchSize - 1) / batchSize;
  }

  /** The peak learning rate: base per 256 samples scaled linearly with the batch. */
  public double peakLearningRate() {
    return baseLearningRate * batchSize / 256.0;
  }

  /**
   * Rejects bad input before any work, naming the field; resolves and checks the preset (unknown
   * name, image size not divisible by the patch, ...). Returns the resolved preset.
   */
  public ModelPreset validate() {
    validateFields();
    return ModelPreset.load(preset);
  }

  /** Every check of {@link #validate()} except resolving the preset name. */
  public void validateFields() {
    if (!(maskRatio >= 0 && maskRatio < 1)) {
      throw new IllegalArgumentException("maskRatio must be in [0, 1), got " + maskRatio);
    }
    if (batchSize <= 0) {
      throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
    }
    if (totalSteps <= 0) {
      throw new IllegalArgumentException("totalSteps must be positive, got " + totalSteps);
    }
    if (!(baseLearningRate > 0) || Double.isInfinite(baseLearningRate)) {
      throw new IllegalArgumentException(
          "baseLearningRate must be positive, got " + baseLearningRate);
    }
    if (warmupSteps < 0 || warmupSteps > totalSteps) {
      throw new IllegalArgumentException(
          "warmupSteps must be in [0, totalSteps=" + totalSteps + "], got " + warmupSteps);
    }
    if (!(weightDecay >= 0)) {
      throw new IllegalArgumentException("weightDecay must be >= 0, got " + weightDecay);
    }
    if (!(beta1 >= 0 && beta1 < 1)) {
      throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
    }
    if (!(beta2 >= 0 && beta2 < 1)) {
      throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
    }
    if (!(epsilon > 0)) {
      throw new IllegalArgumentException("epsilon must be positive, got " + epsilon);
    }
    if (!(gradClipNorm >= 0)) {
      throw new IllegalArgumentException(
          "gradClipNorm must be >= 0 (0 = off), got " + gradClipNorm);
    }
    if (checkpointEvery <= 0) {
      throw new IllegalArgumentException(
          "checkpointEvery must be positive, got " + checkpointEvery);
    }
    if (metricsEvery <= 0) {
      throw new IllegalArgumentException("metricsEvery must be positive, got " + metricsEvery);
    }
    Precision.requireSupported(precision, "precision");
  }

  /** The same run with another schedule length (a budget fitted to wall-clock, a probe). */
  public TrainConfig withTotalSteps(long newTotalSteps) {
    return new TrainConfig(
        preset,
        maskRatio,
        batchSize,
        newTotalSteps,
        baseLearningRate,
        warmupSteps,
        weightDecay,
        beta1,
        beta2,
        epsilon,
        gradClipNorm,
        seed,
        checkpointEvery,
        metricsEvery,
        precision);
  }

  public TrainConfig withSeed(long newSeed) {
    return new TrainConfig(
        preset,
        maskRatio,
        batchSize,
        totalSteps,
        baseLearningRate,
        warmupSteps,
        weightDecay,
        beta1,
        beta2,
        epsilon,
        gradClipNorm,
        newSeed,
        checkpointEvery,
        metricsEvery,
        precision);
  }

  public TrainConfig withSchedule(double newBaseLearningRate, long newWarmupSteps) {
    return new TrainConfig(
        preset,
        maskRatio,
        batchSize,
        totalSteps,
        newBaseLearningRate,
        newWarmupSteps,
        weightDecay,
        beta1,
        beta2,
        epsilon,
        gradClipNorm,
        seed,
        checkpointEvery,
        metricsEvery,
        precision);
  }

  public TrainConfig withIntervals(long newCheckpointEvery, long newMetricsEvery) {
    return new TrainConfig(
        preset,
        maskRatio,
        batchSize,
        totalSteps,
        baseLearningRate,
        warmupSteps,
        weightDecay,
        beta1,
        beta2,
        epsilon,
        gradClipNorm,
        seed,
        newCheckpointEvery,
        newMetricsEvery,
        precision);
  }

  /** The same run at another precision ({@code fp32}, {@code bf16}; null for fp32). */
  public TrainConfig withPrecision(String newPrecision) {
    return new TrainConfig(
        preset,
        maskRatio,
        batchSize,
        totalSteps,
        baseLearningRate,
        warmupSteps,
        weightDecay,
        beta1,
        beta2,
        epsilon,
        gradClipNorm,
        seed,
        checkpointEvery,
        metricsEvery,
        newPrecision);
  }

  public TrainConfig withGradClipNorm(double newGradClipNorm) {
    return new TrainConfig(
        preset,
        maskRatio,
        batchSize,
        totalSteps,
        baseLearningRate,
        warmupSteps,
        weightDecay,
        beta1,
        beta2,
        epsilon,
        newGradClipNorm,
        seed,
        checkpointEvery,
        metricsEvery,
        precision);
  }
}
