package io.flipflow.activities.checkpoint;

import io.flipflow.activities.model.ModelPreset;
import io.flipflow.workflows.plan.TrainConfig;

/**
 * The small half of a checkpoint ({@code state.json}): where training stands and how to continue it
 * identically. Randomness needs no saved generator state: weights come from {@code seed} at
 * creation and each step's mask noise from {@code (seed, step)} (see the trainer's seeds).
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
    float lastLoss) {

  public static final int FORMAT = 1;
  public static final String RNG_SCHEME = "engine-seed-per-step:splitmix64(seed,step)";
}
