package io.flipflow.workflows.staging;

import io.flipflow.workflows.plan.StagingRequest;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.StagingStatus;
import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Stages a data set on every cpu worker at once: plans it (one activity lists the shards), stages
 * it in groups of shards (one activity each, retried and resumed per group, at most {@code
 * groupsInFlight} scheduled), then publishes the manifest (one activity). After {@link
 * #GROUPS_PER_EXECUTION} groups it continues as new, so a 41,000-shard set keeps each history
 * bounded. Workflow type {@code StagingWorkflow} on task queue {@code flipflow-control}; the
 * pipeline starts it as a child with the id {@link #idFor}.
 */
@WorkflowInterface
public interface StagingWorkflow {
  /** Groups one execution starts before it continues as new. */
  int GROUPS_PER_EXECUTION = 500;

  /**
   * Start with the request alone ({@code carried} null); continue-as-new passes the state. A group
   * that fails for good (bad input, or out of retries) fails the staging with its shard named;
   * nothing is published then.
   */
  @WorkflowMethod
  StagedDataset stage(StagingRequest request, StagingState carried);

  /** Groups staged and samples so far. */
  @QueryMethod
  StagingStatus status();

  /** The staging child's workflow id for the pipeline {@code runWorkflowId}. */
  static String idFor(String runWorkflowId) {
    return runWorkflowId + "-staging";
  }
}
