package io.flipflow.activities.support;

import io.temporal.failure.ApplicationFailure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.SQLException;

/**
 * Turns an exception of the work into what Temporal should do with it: bad input fails for good
 * (type {@value #BAD_INPUT}), anything transient (I/O, S3, the database) is retried.
 */
public final class ActivityFailures {
  /** The failure type the workflows' retry policies list as non-retryable. */
  public static final String BAD_INPUT = "BadInput";

  public static final String TRANSIENT = "Transient";

  private ActivityFailures() {}

  public static RuntimeException translate(Throwable e) {
    if (e instanceof ApplicationFailure af) {
      return af;
    }
    if (e instanceof IllegalArgumentException) {
      return ApplicationFailure.newNonRetryableFailureWithCause(e.getMessage(), BAD_INPUT, e);
    }
    if (e instanceof IOException
        || e instanceof UncheckedIOException
        || e instanceof SQLException) {
      return ApplicationFailure.newFailureWithCause(e.getMessage(), TRANSIENT, e);
    }
    if (e instanceof RuntimeException re) {
      return re;
    }
    return ApplicationFailure.newFailureWithCause(String.valueOf(e.getMessage()), TRANSIENT, e);
  }

  /** Runs the work, translating its failures. */
  public static <T> T run(Work<T> work) {
    try {
      return work.call();
    } catch (Exception e) {
      throw translate(e);
    }
  }

  @FunctionalInterface
  public interface Work<T> {
    T call() throws Exception;
  }
}
