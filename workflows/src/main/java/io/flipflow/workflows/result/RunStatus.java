package io.flipflow.workflows.result;

/** Status of a run, a stage or a study, as written to Postgres. */
public enum RunStatus {
  RUNNING,
  FINISHED,
  FAILED,
  CANCELLED
}
