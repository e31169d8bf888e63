package io.flipflow.activities.support;

import io.temporal.activity.ActivityExecutionContext;
import io.temporal.client.ActivityCanceledException;
import io.temporal.client.ActivityCompletionException;
import io.temporal.client.ActivityWorkerShutdownException;
import io.temporal.failure.TimeoutFailure;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Heartbeats the latest progress from a background thread, so loading, checkpointing and evaluation
 * never go quiet, and turns what the heartbeat learns (cancellation, an attempt that timed out and
 * was superseded, worker shutdown) into a flag the work checks at its next step boundary. A work
 * that stops making progress (see {@link #watch}) stops being heartbeated, so Temporal times the
 * attempt out and retries it instead of seeing it alive for hours.
 */
public final class Heartbeater implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Heartbeater.class);

  /** Why the work should stop; NONE while it may go on. */
  public enum StopReason {
    NONE,
    /** The workflow cancelled the activity. */
    CANCELLED,
    /** This attempt timed out: Temporal has retried it, this one must not finish the stage. */
    SUPERSEDED,
    /** The worker is shutting down: stop with a checkpoint for another worker. */
    WORKER_SHUTDOWN,
    /** No progress for too long: heartbeats stopped, the attempt will time out and be retried. */
    STALLED
  }

  private final ActivityExecutionContext context;
  private final AtomicReference<Object> latest = new AtomicReference<>();
  private final AtomicReference<StopReason> stop = new AtomicReference<>(StopReason.NONE);
  private final AtomicReference<Supplier<String>> stallCheck = new AtomicReference<>(() -> null);
  private final ScheduledExecutorService thread;

  private Heartbeater(ActivityExecutionContext context, Object initial, Duration interval) {
    this.context = context;
    this.latest.set(initial);
    this.thread =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "heartbeat-" + context.getInfo().getActivityType());
              t.setDaemon(true);
              return t;
            });
    long ms = Math.max(100, interval.toMillis());
    thread.scheduleWithFixedDelay(this::beat, 0, ms, TimeUnit.MILLISECONDS);
  }

  /** Starts heartbeating at a third of the heartbeat timeout (Temporal throttles at 0.8 of it). */
  public static Heartbeater start(ActivityExecutionContext context, Object initialDetails) {
    Duration timeout = context.getInfo().getHeartbeatTimeout();
    Duration interval =
        timeout == null || timeout.isZero() ? Duration.ofSeconds(5) : timeout.dividedBy(3);
    return new Heartbeater(context, initialDetails, interval);
  }

  /** The details the next heartbeat sends (a small record: step, loss, checkpoint URI, ...). */
  public void update(Object details) {
    latest.set(details);
  }

  /**
   * Before each heartbeat, asks {@code stalled} whether the work has stalled (a reason, or null
   * while it makes progress); once it answers, heartbeats stop for good and the work is asked to
   * stop with {@link StopReason#STALLED}.
   */
  public void watch(Supplier<String> stalled) {
    stallCheck.set(stalled);
  }

  public StopReason stopReason() {
    return stop.get();
  }

  public boolean stopRequested() {
    return stop.get() != StopReason.NONE;
  }

  /** For a graceful worker shutdown hook: stop at the next step boundary as if cancelled. */
  public void requestStop(StopReason reason) {
    stop.compareAndSet(StopReason.NONE, reason);
  }

  /**
   * Heartbeats now, synchronously, and answers whether this attempt is still the current one: an
   * attempt that timed out (and was retried) or was cancelled learns it here before it marks
   * anything final.
   */
  public boolean confirmCurrent() {
    if (stop.get() == StopReason.SUPERSEDED || stop.get() == StopReason.STALLED) {
      return false;
    }
    try {
      context.heartbeat(latest.get());
      return true;
    } catch (ActivityCompletionException e) {
      record(e);
      return stop.get() != StopReason.SUPERSEDED;
    }
  }

  private void beat() {
    StopReason now = stop.get();
    if (now == StopReason.STALLED || now == StopReason.SUPERSEDED) {
      return; // nothing left to tell Temporal: the attempt is over for it
    }
    String stalled = stallCheck.get().get();
    if (stalled != null) {
      stop.set(StopReason.STALLED);
      log.error(
          "activity {} stalled, no more heartbeats so Temporal retries it: {}",
          context.getInfo().getActivityId(),
          stalled);
      return;
    }
    try {
      context.heartbeat(latest.get());
    } catch (ActivityCompletionException e) {
      record(e);
    } catch (RuntimeException e) {
      log.warn("heartbeat failed, will try again: {}", e.toString());
    }
  }

  private void record(ActivityCompletionException e) {
    StopReason reason;
    if (e instanceof ActivityWorkerShutdownException) {
      reason = StopReason.WORKER_SHUTDOWN;
    } else if (e instanceof ActivityCanceledException && !timedOut(e)) {
      reason = StopReason.CANCELLED;
    } else {
      // not found: this attempt timed out and another may run; it must let go of its device
      reason = StopReason.SUPERSEDED;
    }
    if (stop.compareAndSet(StopReason.NONE, reason)) {
      log.info("activity {} asked to stop ({}): {}", context.getInfo().getActivityId(), reason, e);
    }
  }

  /**
   * The SDK reports a heartbeat timeout it noticed itself (a worker frozen past the timeout) as a
   * cancellation caused by a {@link TimeoutFailure}: Temporal retries that attempt, so it is
   * superseded, not cancelled.
   */
  private static boolean timedOut(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof TimeoutFailure) {
        return true;
      }
    }
    return false;
  }

  /** Stops the heartbeat thread. */
  @Override
  public void close() {
    thread.shutdownNow();
    try {
      thread.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
