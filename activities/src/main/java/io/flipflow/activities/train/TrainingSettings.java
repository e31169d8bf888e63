package io.flipflow.activities.train;

import java.time.Duration;

/**
 * A gpu worker's limits for training, from its config ({@code worker.*}).
 *
 * @param localCheckpoints local checkpoint folders an attempt keeps (the newest); the rest are in
 *     S3
 * @param stallAfterSteps a stage whose loop makes no step for this many times its median step time
 *     has stalled (see {@link StallWatch})
 * @param stallAtLeast but never before this long without a step (checkpoint uploads of a big model
 *     take minutes)
 * @param stagedCacheBytes the most bytes of staged shards this worker keeps on local disk; the
 *     least recently used shards no training holds go first, so a larger set streams through (a
 *     training holds two windows of shards)
 * @param tensorboardDir where this worker writes TensorBoard event files of its runs ({@code
 *     RUN/STAGE/}), also copied beside the checkpoints in S3; null: no curves
 * @param rendezvousHost the address other ranks reach this worker at when it serves a gang's
 *     rendezvous, and that its Gloo binds; null: the address of this host's name
 * @param collectiveTimeout how long a rank waits for the others: at the rendezvous, and in any one
 *     collective (a peer that hangs fails the gang after this; one that dies fails it at once)
 */
public record TrainingSettings(
    int localCheckpoints,
    int stallAfterSteps,
    Duration stallAtLeast,
    long stagedCacheBytes,
    java.nio.file.Path tensorboardDir,
    String rendezvousHost,
    Duration collectiveTimeout) {

  /** Without gang settings: the defaults' rendezvous host and collective timeout. */
  public TrainingSettings(
      int localCheckpoints,
      int stallAfterSteps,
      Duration stallAtLeast,
      long stagedCacheBytes,
      java.nio.file.Path tensorboardDir) {
    this(
        localCheckpoints,
        stallAfterSteps,
        stallAtLeast,
        stagedCacheBytes,
        tensorboardDir,
        null,
        DEFAULT_COLLECTIVE_TIMEOUT);
  }

  /** Long enough for a slow checkpoint upload on rank 0 while the others wait at the next step. */
  public static final Duration DEFAULT_COLLECTIVE_TIMEOUT = Duration.ofMinutes(10);

  public TrainingSettings {
    if (localCheckpoints < 1) {
      throw new IllegalArgumentException(
          "worker.local_checkpoints: must be at least 1, got " + localCheckpoints);
    }
    if (stallAfterSteps < 2) {
      throw new IllegalArgumentException(
          "worker.stall_after_steps: must be at least 2, got " + stallAfterSteps);
    }
    if (stallAtLeast.isNegative() || stallAtLeast.isZero()) {
      throw new IllegalArgumentException(
          "worker.stall_min_seconds: must be positive, got " + stallAtLeast.toSeconds());
    }
    if (stagedCacheBytes <= 0) {
      throw new IllegalArgumentException(
          "worker.staged_cache_bytes: must be positive, got " + stagedCacheBytes);
    }
    if (collectiveTimeout.isNegative() || collectiveTimeout.isZero()) {
      throw new IllegalArgumentException(
          "worker.collective_timeout_seconds: must be positive, got "
              + collectiveTimeout.toSeconds());
    }
  }

  /**
   * 2 local checkpoints, stalled after 20 step times but not before 15 minutes, a 50 GiB cache, no
   * curves.
   */
  public static TrainingSettings defaults() {
    return new TrainingSettings(2, 20, Duration.ofMinutes(15), 50L << 30, null);
  }

  public TrainingSettings withTensorboardDir(java.nio.file.Path dir) {
    return new TrainingSettings(
        localCheckpoints,
        stallAfterSteps,
        stallAtLeast,
        stagedCacheBytes,
        dir,
        rendezvousHost,
        collectiveTimeout);
  }
}
