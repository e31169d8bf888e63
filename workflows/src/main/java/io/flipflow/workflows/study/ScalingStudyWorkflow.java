package io.flipflow.workflows.study;

import io.flipflow.workflows.result.StudySummary;
import io.flipflow.workflows.spec.StudySpec;
import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * A scaling study: one child {@code FlipPipelineWorkflow} per grid cell, with stable ids and
 * bounded parallelism. Workflow type {@code ScalingStudyWorkflow} on task queue {@code
 * flipflow-control}.
 */
@WorkflowInterface
public interface ScalingStudyWorkflow {
  /**
   * Runs the study. Start it with the spec alone ({@code carried} null); continue-as-new passes the
   * state. A failed child is recorded and the study goes on; a bad spec fails at once with type
   * {@code BadInput}.
   */
  @WorkflowMethod
  StudySummary run(StudySpec spec, StudyState carried);

  /** Results of the runs finished so far (this and earlier executions), in grid order. */
  @QueryMethod
  StudySummary results();
}
