package io.flipflow.workflows.activities;

import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;

/** Zero-shot evaluation, on the {@code flipflow-gpu} queue. */
@ActivityInterface
public interface EvaluationActivities {
  /** Phase name of the evaluation right after masked pretraining. */
  String PRETRAINED = "pretrained";

  /** Phase name of the evaluation after unmasked tuning. */
  String TUNED = "tuned";

  /**
   * Evaluates {@code checkpoint} on every set of {@code spec.evalSetUris()} with full (unmasked)
   * images; writes clip_benchmark-shaped JSON next to the checkpoint. Heartbeats with progress. A
   * checkpoint whose preset differs from the spec's: ApplicationFailure type {@code BadInput}.
   *
   * @param phase {@link #PRETRAINED} or {@link #TUNED}
   */
  @ActivityMethod
  EvalReport evaluate(RunSpec spec, CheckpointRef checkpoint, String phase);
}
