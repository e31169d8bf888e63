package io.flipflow.workflows.result;

/**
 * Heartbeat details of a training activity: what the UI shows under the pending activity, and where
 * a retried attempt resumes.
 *
 * @param progress step, samples, loss, throughput, ETA
 * @param lastCheckpoint the newest complete checkpoint, null before the first
 */
public record TrainingHeartbeat(Progress progress, CheckpointRef lastCheckpoint) {}
