package io.flipflow.workflows.result;

/**
 * What a training activity (pretraining or unmasked tuning) returns.
 *
 * @param checkpoint the final checkpoint, written before returning
 * @param steps optimizer steps done in total (including steps of earlier attempts)
 * @param samplesSeen training samples consumed in total
 * @param finalLoss the last step's loss
 * @param wallSeconds wall-clock seconds of training, summed over attempts
 * @param samplesPerSecond training throughput
 * @param stoppedEarly true when training stopped before its schedule ended: by cancellation or by
 *     the wall-clock budget
 */
public record TrainResult(
    CheckpointRef checkpoint,
    long steps,
    long samplesSeen,
    double finalLoss,
    double wallSeconds,
    double samplesPerSecond,
    boolean stoppedEarly) {}
