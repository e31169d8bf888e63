package io.flipflow.workflows;

import io.temporal.client.WorkflowException;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.CanceledFailure;
import io.temporal.failure.ChildWorkflowFailure;
import io.temporal.failure.TemporalFailure;

/** Reading Temporal failures for records and messages. */
public final class Failures {
  private Failures() {}

  /**
   * The message a user should see: that of the outermost failure that is not a mere wrapper
   * (ActivityFailure, ChildWorkflowFailure, a client's WorkflowFailedException only say which
   * activity or workflow failed), without Temporal's {@code message='...', type=...} decoration.
   */
  public static String message(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof ActivityFailure
          || t instanceof ChildWorkflowFailure
          || t instanceof WorkflowException) {
        continue;
      }
      String own = t instanceof TemporalFailure f ? f.getOriginalMessage() : t.getMessage();
      if (own != null && !own.isEmpty()) {
        return own;
      }
    }
    return e.getMessage();
  }

  /** True when {@code e} is, or was caused by, a cancellation. */
  public static boolean isCancellation(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof CanceledFailure) {
        return true;
      }
    }
    return false;
  }
}
