package io.flipflow.workflows.evaluation;

import io.flipflow.workflows.FailureTypes;
import io.flipflow.workflows.SearchAttributeKeys;
import io.flipflow.workflows.activities.EvaluationActivities;
import io.flipflow.workflows.pipeline.PipelineActivityOptions;
import io.flipflow.workflows.plan.EvaluationRequest;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.common.SearchAttributeUpdate;
import io.temporal.failure.ApplicationFailure;
import io.temporal.workflow.Workflow;
import java.util.ArrayList;
import java.util.List;

/** Checks the request, labels the execution for search, evaluates, labels the result. */
public class EvaluationWorkflowImpl implements EvaluationWorkflow {
  private final EvaluationActivities evaluation =
      Workflow.newActivityStub(EvaluationActivities.class, PipelineActivityOptions.evaluation());

  @Override
  public EvalReport run(EvaluationRequest request) {
    List<String> problems = problems(request);
    if (!problems.isEmpty()) {
      throw ApplicationFailure.newNonRetryableFailure(
          "invalid evaluation request: " + String.join("; ", problems), FailureTypes.BAD_INPUT);
    }
    List<SearchAttributeUpdate<?>> attributes = new ArrayList<>();
    attributes.add(SearchAttributeKeys.RUN.valueSet(request.recordUnder()));
    if (request.modelPreset() != null) {
      attributes.add(SearchAttributeKeys.MODEL.valueSet(request.modelPreset()));
    }
    attributes.add(SearchAttributeKeys.EVAL_SETS.valueSet(request.evalSetUris()));
    attributes.add(SearchAttributeKeys.STAGE.valueSet("EVALUATING"));
    Workflow.upsertTypedSearchAttributes(attributes.toArray(SearchAttributeUpdate<?>[]::new));
    EvalReport report = evaluation.evaluateCheckpoint(request);
    Double top1 = report.headlineTop1();
    if (top1 != null) {
      Workflow.upsertTypedSearchAttributes(SearchAttributeKeys.TOP1.valueSet(top1));
    }
    Workflow.upsertTypedSearchAttributes(SearchAttributeKeys.STAGE.valueSet("FINISHED"));
    return report;
  }

  static List<String> problems(EvaluationRequest r) {
    List<String> out = new ArrayList<>();
    if (r == null) {
      return List.of("request: is missing");
    }
    if (r.checkpoint() == null
        || r.checkpoint().uri() == null
        || !r.checkpoint().uri().startsWith("s3://")) {
      out.add("checkpoint: an s3:// URI of a checkpoint is needed");
    }
    if (r.evalSetUris().isEmpty()) {
      out.add("evalSetUris: at least one evaluation set is needed");
    }
    for (String set : r.evalSetUris()) {
      if (set == null || !set.startsWith("s3://")) {
        out.add("evalSetUris: '" + set + "' is not an s3:// URI");
      }
    }
    String runProblem = RunSpec.idProblem(r.recordUnder(), RunSpec.MAX_NAME_LENGTH);
    if (runProblem != null) {
      out.add("recordUnder: " + runProblem);
    }
    // no preset: the checkpoint's own (state.json); one given must be the checkpoint's
    if (r.modelPreset() != null && r.modelPreset().isBlank()) {
      out.add("modelPreset: is blank (leave it out to use the checkpoint's)");
    }
    return out;
  }
}
