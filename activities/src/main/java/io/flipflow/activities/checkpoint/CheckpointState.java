package io.flipflow.activities.checkpoint;

import io.flipflow.activities.model.ModelPreset;
import io.flipflow.workflows.plan.TrainConfig;

/**
 * The small half of a checkpoint ({@code state.json}): where training stands and how to continue it
 * identically. Randomness needs no saved generator state: weights come from {@code seed} at
 * creation and each step's mask noise from {@code (seed, step)} (see the trainer's seeds).
 *
 * @param origin the run, stage, spec and attempt that wrote it; null in checkpoints written before
 *     it existed, and for a trainer outside a pipeline
 */
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
    Origin origin) {

  /**
   * Where a checkpoint comes from.
   *
   * @param specFingerprint the run spec's fingerprint: a retry resumes only from its own spec's
   */
  public record Origin(String workflowId, String stage, String specFingerprint, int attempt) {}

  /** The spec fingerprint it was written for, or null when unknown. */
  public String specFingerprint() {
    return origin == null ? null : origin.specFingerprint();
  }

  public static final int FORMAT = 1;
  public static final String RNG_SCHEME = "engine-seed-per-step:splitmix64(seed,step)";
}
