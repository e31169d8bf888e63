package io.flipflow.activities.checkpoint;

import io.flipflow.activities.model.ImageNormalization;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.workflows.plan.TrainConfig;
import io.soabase.recordbuilder.core.RecordBuilder;

/**
 * The small half of a checkpoint ({@code state.json}): where training stands and how to continue it
 * identically, and what anyone needs to use the model without flipflow's run record (its preset,
 * image preprocessing and tokenizer). Randomness needs no saved generator state: weights come from
 * {@code seed} at creation and each step's mask noise from {@code (seed, step)} (see the trainer's
 * seeds).
 *
 * @param format {@link #FORMAT_DJL} (weights in DJL's {@code weights.params}, before safetensors)
 *     or {@link #FORMAT} (weights in {@code model.safetensors})
 * @param config the training config; null for a model imported from elsewhere (nothing to resume)
 * @param origin the run, stage, spec and attempt that wrote it; null in checkpoints written before
 *     it existed, and for a trainer outside a pipeline
 * @param preprocess the image preprocessing the model was trained with; null in old checkpoints
 *     (they were trained with {@link Preprocess#of}'s)
 * @param tokenizer the tokenizer the captions were encoded with ({@code tokenizer.json} beside this
 *     file once complete); null when unknown (old checkpoints, synthetic data)
 * @param importedFrom where imported weights came from (e.g. {@code open_clip:DIR}); null when
 *     flipflow trained them
 * @param lossScale fp16's loss-scaler state; null otherwise
 */
@RecordBuilder
public record CheckpointState(
    int format,
    String presetName,
    ModelPreset preset,
    TrainConfig config,
    long step,
    long samplesSeen,
    long dataPosition,
    long seed,
    String rngScheme,
    long optimizerUpdates,
    float lastLoss,
    Origin origin,
    Preprocess preprocess,
    TokenizerRef tokenizer,
    String importedFrom,
    LossScale lossScale)
    implements CheckpointStateBuilder.With {

  /**
   * Where a checkpoint comes from.
   *
   * @param specFingerprint the run spec's fingerprint: a retry resumes only from its own spec's
   */
  public record Origin(String workflowId, String stage, String specFingerprint, int attempt) {}

  /**
   * flipflow's image preprocessing, spelled out for other tools: transparent pixels composited on
   * {@code background}, the shorter side resized to {@code size} ({@code interpolation}), a centre
   * crop, RGB in [0, 1], then {@code (x - mean) / std} per channel.
   */
  public record Preprocess(
      int size,
      String resizeMode,
      String interpolation,
      String crop,
      String background,
      float[] mean,
      float[] std) {
    public static Preprocess of(ModelPreset preset) {
      return new Preprocess(
          preset.imageSize(),
          "shortest",
          "bicubic",
          "center",
          "white",
          ImageNormalization.MEAN.clone(),
          ImageNormalization.STD.clone());
    }
  }

  /**
   * The tokenizer of a checkpoint.
   *
   * @param sha256 hex SHA-256 of its tokenizer.json bytes
   * @param source where it was read from (the staged data's tokenizer URI, an imported folder)
   */
  public record TokenizerRef(String sha256, String source) {}

  /**
   * fp16's dynamic loss scale (null for other precisions and in checkpoints from before it).
   *
   * @param scale what the loss is multiplied by before the backward pass
   * @param cleanSteps steps since the scale last changed without an overflow
   * @param skippedSteps steps skipped so far for overflowing gradients
   */
  public record LossScale(double scale, long cleanSteps, long skippedSteps) {}

  /** A state as the trainer writes it; preprocessing and tokenizer are filled in when written. */
  public CheckpointState(
      int format,
      String presetName,
      ModelPreset preset,
      TrainConfig config,
      long step,
      long samplesSeen,
      long dataPosition,
      long seed,
      String rngScheme,
      long optimizerUpdates,
      float lastLoss,
      Origin origin) {
    this(
        format,
        presetName,
        preset,
        config,
        step,
        samplesSeen,
        dataPosition,
        seed,
        rngScheme,
        optimizerUpdates,
        lastLoss,
        origin,
        null,
        null,
        null,
        null);
  }

  /**
   * The name this model has outside flipflow: in an OpenCLIP export's provenance and as {@code
   * model} in flipflow's clip_benchmark JSON, so results of both tools line up. {@code
   * flipflow-<preset>-<run>-<stage>-step<N>} ({@code -imported} for imported weights), characters
   * other than letters, digits, {@code . _ -} replaced by {@code _}.
   */
  public String modelName() {
    StringBuilder sb = new StringBuilder("flipflow-").append(preset.name());
    if (origin != null && origin.workflowId() != null) {
      sb.append('-').append(origin.workflowId());
      if (origin.stage() != null) {
        sb.append('-').append(origin.stage());
      }
    } else if (importedFrom != null) {
      sb.append("-imported");
    }
    sb.append("-step").append(step);
    return sb.toString().replaceAll("[^A-Za-z0-9._-]", "_");
  }

  /** The spec fingerprint it was written for, or null when unknown. */
  public String specFingerprint() {
    return origin == null ? null : origin.specFingerprint();
  }

  /** This state in the current format, with its preprocessing filled in from the preset. */
  CheckpointState current() {
    return with()
        .format(FORMAT)
        .preprocess(preprocess == null && preset != null ? Preprocess.of(preset) : preprocess)
        .build();
  }

  /** The preprocessing the model expects: recorded, or flipflow's for its preset. */
  public Preprocess preprocessOrDefault() {
    return preprocess != null ? preprocess : Preprocess.of(preset);
  }

  /** Weights in DJL's parameter format ({@code weights.params}): checkpoints before issue 16. */
  public static final int FORMAT_DJL = 1;

  /** Weights in safetensors ({@code model.safetensors}), a tokenizer and preprocessing. */
  public static final int FORMAT = 2;

  public static final String RNG_SCHEME = "engine-seed-per-step:splitmix64(seed,step)";
}
