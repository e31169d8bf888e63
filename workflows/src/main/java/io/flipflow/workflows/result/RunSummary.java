package io.flipflow.workflows.result;

/**
 * What a {@code FlipPipelineWorkflow} returns, and what {@code recordRunFinished} writes.
 *
 * @param workflowId the run's workflow id
 * @param runName the spec's name
 * @param studyId the study it belongs to, null for a lone run
 * @param status FINISHED, FAILED or CANCELLED
 * @param pretrain masked pretraining's result, null if it did not return
 * @param pretrainedEval evaluation after pretraining, null if not reached
 * @param tuning unmasked tuning's result, null if skipped or not reached
 * @param tunedEval evaluation after tuning, null if skipped or not reached
 * @param zeroShotTop1 headline top-1 of the newest evaluation, null when unknown
 * @param wallSeconds workflow time from start to end
 * @param message failure or cancellation reason, null when finished
 */
public record RunSummary(
    String workflowId,
    String runName,
    String studyId,
    RunStatus status,
    TrainResult pretrain,
    EvalReport pretrainedEval,
    TrainResult tuning,
    EvalReport tunedEval,
    Double zeroShotTop1,
    double wallSeconds,
    String message) {}
