package io.flipflow.activities.support;

import io.temporal.activity.ActivityExecutionContext;
import io.temporal.client.ActivityCompletionException;
import io.temporal.client.ActivityWorkerShutdownException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Heartbeats the latest progress from a background thread, so loading, checkpointing and evaluation
 * never go quiet, and turns what the heartbeat learns (cancellation, a timed-out attempt, worker
 * shutdown) into a flag the work checks at its next step boundary.
 */
public final class Heartbeater implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Heartbeater.class);

  /** Why the work should stop; NONE while it may go on. */
  public enum StopReason {
    NONE,
    CANCELLED,
    WORKER_SHUTDOWN
  }

  private final ActivityExecutionContext context;
  private final AtomicReference<Object> latest = new AtomicReference<>();
  private final AtomicReference<StopReason> stop = new AtomicReference<>(StopReason.NONE);
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

  private void beat() {
    try {
      context.heartbeat(latest.get());
    } catch (ActivityWorkerShutdownException e) {
      requestStop(StopReason.WORKER_SHUTDOWN);
    } catch (ActivityCompletionException e) {
      // cancelled by the workflow, or this attempt timed out and another may start:
      // either way this attempt must let go of its device at the next step boundary
      if (stop.compareAndSet(StopReason.NONE, StopReason.CANCELLED)) {
        log.info("activity {} asked to stop: {}", context.getInfo().getActivityId(), e.toString());
      }
    } catch (RuntimeException e) {
      log.warn("heartbeat failed, will try again: {}", e.toString());
    }
  }

  /** Sends one last heartbeat with the final details and stops the thread. */
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
