package io.flipflow.activities.train;

import java.time.Duration;
import java.util.Arrays;

/**
 * Whether a training loop still makes progress: it has stalled when no step ended for {@code
 * multiple} times its median step time (the last few steps), and at least {@code atLeast}. Before
 * the first step (loading, warming caches) only {@code atLeast} counts. Thread-safe: the loop
 * reports, the heartbeat thread asks.
 */
final class StallWatch {
  private static final int RECENT = 15;

  private final int multiple;
  private final long atLeastNanos;
  private final double[] recentMillis = new double[RECENT];
  private int recorded;
  private long lastProgressNanos = System.nanoTime();

  StallWatch(int multiple, Duration atLeast) {
    this.multiple = multiple;
    this.atLeastNanos = atLeast.toNanos();
  }

  /** The loop finished a step (or some other unit of visible progress) of {@code millis}. */
  synchronized void progressed(double millis) {
    recentMillis[recorded++ % RECENT] = millis;
    lastProgressNanos = System.nanoTime();
  }

  /** Resets the clock without a step time (the loop starts, a checkpoint was uploaded). */
  synchronized void alive() {
    lastProgressNanos = System.nanoTime();
  }

  /** Why the loop has stalled at {@code nowNanos}; null while it has not. */
  synchronized String stalledReason(long nowNanos) {
    long quiet = nowNanos - lastProgressNanos;
    long limit = atLeastNanos;
    double median = Double.NaN;
    if (recorded > 0) {
      double[] r = Arrays.copyOf(recentMillis, Math.min(recorded, RECENT));
      Arrays.sort(r);
      median = r[r.length / 2];
      limit = Math.max(limit, (long) (multiple * median * 1e6));
    }
    if (quiet <= limit) {
      return null;
    }
    return String.format(
        java.util.Locale.ROOT,
        "no training step for %.0f s (median step %.0f ms, limit %.0f s = max(%d x median, %.0f s))",
        quiet / 1e9,
        median,
        limit / 1e9,
        multiple,
        atLeastNanos / 1e9);
  }
}
