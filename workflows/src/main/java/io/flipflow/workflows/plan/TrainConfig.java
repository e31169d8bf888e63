package io.flipflow.workflows.plan;

import io.soabase.recordbuilder.core.RecordBuilder;
import java.util.List;

/**
 * Everything one training stage needs besides its data: pretraining (mask ratio > 0) and unmasked
 * tuning (mask ratio 0, smaller LR, few samples) are the same loop with different configs. The
 * pipeline derives both from its run spec in {@link RunPlans}; checkpoints store the config they
 * were trained with. Copies with changed fields: {@code config.with().totalSteps(..).build()}
 * ({@link TrainConfigBuilder}, generated).
 *
 * @param preset model preset name (or a preset .json path)
 * @param maskRatio fraction of image patches dropped, in [0, 1)
 * @param batchSize samples per step
 * @param totalSteps optimizer steps of this stage
 * @param baseLearningRate learning rate per 256 samples; the applied peak is base * batch / 256
 * @param warmupSteps linear warmup from 0 to the peak, then cosine decay to 0 at totalSteps
 * @param weightDecay decoupled weight decay for every tensor of two or more dimensions (matrices
 *     and embedding tables; not biases, norms, the class token or the logit scale)
 * @param beta1 AdamW's first-moment decay
 * @param beta2 AdamW's second-moment decay
 * @param epsilon AdamW's denominator term
 * @param gradClipNorm global gradient-norm clip; 0 turns clipping off
 * @param seed seeds the initial weights and every step's mask noise (with the step number)
 * @param checkpointEvery steps between checkpoints (a checkpoint is also written at the end/stop)
 * @param metricsEvery steps between step reports (the last step is always reported)
 * @param precision {@code fp32}, {@code bf16} or {@code fp16} (autocast; fp16 with dynamic loss
 *     scaling); null, as in checkpoints written before the field existed, reads as fp32. The
 *     trainer refuses what its engine cannot do.
 * @param textMaskRatio fraction of each caption's token positions dropped (FLIP's Table 1c); null
 *     or 0 for none
 * @param textMasking {@code random} or {@code prioritized} (padding first); null for random
 * @param reconstruction FLIP's Table 1f: an MAE-style decoder's loss added to the contrastive one;
 *     null (and in checkpoints from before the field) for none
 * @param attention {@code explicit} or {@code fused}; null (and in checkpoints from before the
 *     field) for explicit
 */
@RecordBuilder
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
    String precision,
    Double textMaskRatio,
    String textMasking,
    io.flipflow.workflows.spec.Reconstruction reconstruction,
    String attention)
    implements TrainConfigBuilder.With {

  public static final String FP32 = "fp32";

  /** The precisions a config may name; the trainer decides which its engine can run. */
  public static final List<String> PRECISIONS = List.of(FP32, "bf16", "fp16");

  public TrainConfig {
    precision = precision == null ? FP32 : precision;
  }

  /** The peak learning rate: base per 256 samples scaled linearly with the batch. */
  public double peakLearningRate() {
    return baseLearningRate * batchSize / 256.0;
  }

  /**
   * Rejects a bad config before any work, naming the field: an IllegalArgumentException. The model
   * preset is resolved (and checked) where presets live, by the trainer.
   */
  public TrainConfig validate() {
    if (preset == null || preset.isBlank()) {
      throw new IllegalArgumentException("preset must name a model preset");
    }
    if (!(maskRatio >= 0 && maskRatio < 1)) {
      throw new IllegalArgumentException("maskRatio must be in [0, 1), got " + maskRatio);
    }
    if (textMaskRatio != null && !(textMaskRatio >= 0 && textMaskRatio < 1)) {
      throw new IllegalArgumentException("textMaskRatio must be in [0, 1), got " + textMaskRatio);
    }
    if (textMasking != null && !List.of("random", "prioritized").contains(textMasking)) {
      throw new IllegalArgumentException(
          "textMasking must be random or prioritized, got '" + textMasking + "'");
    }
    if (reconstruction != null && maskRatio == 0) {
      throw new IllegalArgumentException(
          "reconstruction needs masked patches to reconstruct, but maskRatio is 0");
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
    if (!PRECISIONS.contains(precision)) {
      throw new IllegalArgumentException(
          "precision: '" + precision + "' is not a precision; write fp32, bf16 or fp16");
    }
    if (attention != null && !List.of("explicit", "fused").contains(attention)) {
      throw new IllegalArgumentException(
          "attention: '" + attention + "' is not an attention; write explicit or fused");
    }
    return this;
  }
}
