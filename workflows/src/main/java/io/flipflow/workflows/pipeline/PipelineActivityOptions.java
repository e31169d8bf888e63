package io.flipflow.workflows.pipeline;

import io.flipflow.workflows.FailureTypes;
import io.flipflow.workflows.TaskQueues;
import io.temporal.activity.ActivityCancellationType;
import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import java.time.Duration;

/**
 * Activity options per kind of work. Bad input is never retried ({@link
 * FailureTypes#NON_RETRYABLE}); transient failures are retried with backoff.
 */
public final class PipelineActivityOptions {
  /** Long activities heartbeat from a background thread at a third of this (every 30 s). */
  public static final Duration LONG_HEARTBEAT_TIMEOUT = Duration.ofSeconds(90);

  private PipelineActivityOptions() {}

  /** Recording to Postgres: short, retried until the database is back (a restart is a fault). */
  public static ActivityOptions record() {
    return ActivityOptions.newBuilder()
        .setTaskQueue(TaskQueues.CONTROL)
        .setStartToCloseTimeout(Duration.ofSeconds(30))
        .setScheduleToCloseTimeout(Duration.ofHours(1))
        .setRetryOptions(retry(Duration.ofSeconds(1), Duration.ofSeconds(30), 0))
        .build();
  }

  /** Staging: hours for large sets; heartbeats per shard; resumes after the last done shard. */
  public static ActivityOptions staging() {
    return ActivityOptions.newBuilder()
        .setTaskQueue(TaskQueues.CPU)
        .setStartToCloseTimeout(Duration.ofHours(12))
        .setHeartbeatTimeout(Duration.ofSeconds(120))
        .setRetryOptions(retry(Duration.ofSeconds(5), Duration.ofMinutes(2), 10))
        .build();
  }

  /**
   * Training: days; a lost worker is noticed by the heartbeat timeout and the retry resumes from
   * the newest checkpoint. Cancellation waits for the activity to stop with a checkpoint.
   */
  public static ActivityOptions training() {
    return ActivityOptions.newBuilder()
        .setTaskQueue(TaskQueues.GPU)
        .setStartToCloseTimeout(Duration.ofDays(14))
        .setHeartbeatTimeout(LONG_HEARTBEAT_TIMEOUT)
        .setCancellationType(ActivityCancellationType.WAIT_CANCELLATION_COMPLETED)
        .setRetryOptions(retry(Duration.ofSeconds(10), Duration.ofMinutes(5), 20))
        .build();
  }

  /**
   * One rank of a data-parallel gang: as training, but never retried alone (the gang restarts as a
   * unit, see {@link RankGang}), so its attempt ends at the first failure or lost heartbeat.
   */
  public static ActivityOptions trainingRank() {
    return ActivityOptions.newBuilder(training())
        .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(1).build())
        .build();
  }

  /** Evaluation: batched inference over the evaluation sets. */
  public static ActivityOptions evaluation() {
    return ActivityOptions.newBuilder()
        .setTaskQueue(TaskQueues.GPU)
        .setStartToCloseTimeout(Duration.ofHours(12))
        .setHeartbeatTimeout(LONG_HEARTBEAT_TIMEOUT)
        .setRetryOptions(retry(Duration.ofSeconds(10), Duration.ofMinutes(5), 10))
        .build();
  }

  private static RetryOptions retry(Duration initial, Duration max, int maxAttempts) {
    return RetryOptions.newBuilder()
        .setInitialInterval(initial)
        .setBackoffCoefficient(2.0)
        .setMaximumInterval(max)
        .setMaximumAttempts(maxAttempts)
        .setDoNotRetry(FailureTypes.NON_RETRYABLE.toArray(new String[0]))
        .build();
  }
}
