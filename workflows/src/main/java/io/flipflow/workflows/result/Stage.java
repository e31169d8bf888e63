package io.flipflow.workflows.result;

/**
 * Where a pipeline run is. The working stages in order, then how the run ended. The names are the
 * values of the {@code FlipStage} search attribute and of the {@code stages.stage} column.
 */
public enum Stage {
  STARTING,
  STAGE_DATA,
  PRETRAIN,
  EVAL_PRETRAINED,
  UNMASKED_TUNE,
  EVAL_TUNED,
  FINISHED,
  FAILED,
  CANCELLED
}
