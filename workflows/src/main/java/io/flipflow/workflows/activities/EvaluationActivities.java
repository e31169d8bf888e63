package io.flipflow.workflows.activities;

import io.flipflow.workflows.plan.EvaluationRequest;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

/** Zero-shot evaluation, on the {@code flipflow-gpu} queue. */
@ActivityInterface
public interface EvaluationActivities {
  /** Phase name of the evaluation right after masked pretraining. */
  String PRETRAINED = EvaluationRequest.PRETRAINED;

  /** Phase name of the evaluation after unmasked tuning. */
  String TUNED = EvaluationRequest.TUNED;

  /**
   * Evaluates the request's checkpoint on every set under its URIs (but the seen splits where the
   * request leaves them out) with full (unmasked) images; writes the results to {@code
   * eval_results} (its only writer) and clip_benchmark-shaped JSON next to the checkpoint.
   * Heartbeats with progress. A checkpoint of another preset than the request's: ApplicationFailure
   * type {@code BadInput}.
   */
  @ActivityMethod
  EvalReport evaluateCheckpoint(EvaluationRequest request);

  /** Evaluation as pipelines started before version {@code stage-requests} ask for it. */
  @Deprecated
  @ActivityMethod
  EvalReport evaluate(RunSpec spec, CheckpointRef checkpoint, String phase);
}
