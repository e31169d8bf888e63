package io.flipflow.workflows.activities;

/**
 * How often a training activity tells its workflow about progress with a {@code reportProgress}
 * signal, so that a run of a month stays far inside Temporal's limits (10,000 signals and 51,200
 * events per execution): every 10 s at first, then every tenth of the time trained so far, at most
 * every 30 minutes, and never more than {@link #MAX_SIGNALS} per attempt. A month thus costs about
 * 1,500 signals. The live figures are in the activity's heartbeat, which {@code flipflow} reads
 * with a describe; the {@code progress} query is only the sparse copy. Not thread-safe: one per
 * attempt, asked from the training loop.
 */
public final class ProgressSignals {
  public static final long MIN_INTERVAL_MILLIS = 10_000;
  public static final long MAX_INTERVAL_MILLIS = 30 * 60_000;
  public static final int MAX_SIGNALS = 2_000;

  private long lastMillis = Long.MIN_VALUE;
  private int sent;

  /**
   * Whether to signal now, {@code elapsedMillis} into the attempt; counts the signal when it says
   * yes.
   */
  public boolean due(long elapsedMillis) {
    if (sent >= MAX_SIGNALS) {
      return false;
    }
    long interval =
        Math.min(MAX_INTERVAL_MILLIS, Math.max(MIN_INTERVAL_MILLIS, elapsedMillis / 10));
    if (lastMillis != Long.MIN_VALUE && elapsedMillis - lastMillis < interval) {
      return false;
    }
    lastMillis = elapsedMillis;
    sent++;
    return true;
  }

  /** Signals said yes to so far. */
  public int sent() {
    return sent;
  }
}
