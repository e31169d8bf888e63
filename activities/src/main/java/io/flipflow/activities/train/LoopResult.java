package io.flipflow.activities.train;

import java.nio.file.Path;

/**
 * How a run of the training loop ended: finished ({@code stopped == false}, step == totalSteps) or
 * stopped on request at a step boundary; either way {@code checkpoint} holds the state at {@code
 * step}.
 */
public record LoopResult(
    long step, long samplesSeen, float lastLoss, boolean stopped, Path checkpoint) {}
