package io.flipflow.workflows;

/** Task queue names. */
public final class TaskQueues {
  private TaskQueues() {}
}
