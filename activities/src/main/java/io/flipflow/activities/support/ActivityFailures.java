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
    if (e instanceof SQLException sql && isDeterministic(sql)) {
      return ApplicationFailure.newNonRetryableFailureWithCause(
          "the database refused the write: " + sql.getMessage(), BAD_INPUT, e);
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

  /**
   * Whether the database refused a statement for what it says, so that running it again gives the
   * same answer: SQLSTATE classes 22 (data exception, e.g. a NUL byte in text), 23 (integrity
   * constraint: a missing foreign key, a check), 42 (syntax or access rule). Everything else (a
   * lost connection, a timeout, a serialization failure) may pass on retry.
   */
  public static boolean isDeterministic(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException s && s.getSQLState() != null) {
        String state = s.getSQLState();
        return state.startsWith("22") || state.startsWith("23") || state.startsWith("42");
      }
    }
    return false;
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
