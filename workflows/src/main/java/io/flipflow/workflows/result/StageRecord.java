package io.flipflow.workflows.result;

/**
 * One stage's row. Written when the stage starts (status RUNNING, no finish time) and again when it
 * ends; the store upserts by (workflowId, stage).
 *
 * @param workflowId the pipeline's workflow id
 * @param temporalRunId the pipeline's Temporal run id
 * @param stage which stage
 * @param status RUNNING, FINISHED, FAILED or CANCELLED
 * @param startedAtMillis workflow time the stage started, epoch milliseconds
 * @param finishedAtMillis workflow time it ended, null while running
 * @param samplesSeen training samples of the stage, null where it does not train
 * @param samplesPerSecond training throughput, null where it does not train
 * @param message failure or cancellation reason, null otherwise
 */
public record StageRecord(
    String workflowId,
    String temporalRunId,
    Stage stage,
    RunStatus status,
    long startedAtMillis,
    Long finishedAtMillis,
    Long samplesSeen,
    Double samplesPerSecond,
    String message) {}
