package io.flipflow.workflows.evaluation;

import io.flipflow.workflows.plan.EvaluationRequest;
import io.flipflow.workflows.result.EvalReport;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Any checkpoint on any evaluation sets, as a workflow of its own ({@code flipflow eval}): visible
 * in the UI and searchable by run ({@code FlipRun}) and set ({@code FlipEvalSet}); the evaluation
 * runs on the gpu queue like a pipeline's and its results join the run's record. Workflow type
 * {@code EvaluationWorkflow} on task queue {@code flipflow-control}.
 */
@WorkflowInterface
public interface EvaluationWorkflow {
  /** Bad input (no checkpoint, no set, no run to record under): type {@code BadInput}. */
  @WorkflowMethod
  EvalReport run(EvaluationRequest request);
}
