package io.flipflow.workflows.result;

/**
 * A complete checkpoint in S3.
 *
 * @param uri S3 prefix or object holding weights, optimizer state and RNG state
 * @param step optimizer steps done when it was written
 * @param samplesSeen training samples consumed when it was written
 */
public record CheckpointRef(String uri, long step, long samplesSeen) {}
