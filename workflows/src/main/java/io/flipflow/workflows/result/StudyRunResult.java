package io.flipflow.workflows.result;

/**
 * One cell of a study's grid and how its run ended; what {@code recordStudyRun} writes.
 *
 * @param workflowId the child pipeline's workflow id, stable: {@code <studyId>-<axis values>}
 * @param modelPreset model axis value
 * @param dataSamples data-size axis value, null for all the data
 * @param scheduleSamples the run's schedule length in samples (the schedule axis value)
 * @param maskRatio mask-ratio axis value
 * @param batchSize batch-size axis value
 * @param status FINISHED, FAILED or CANCELLED
 * @param zeroShotTop1 the run's headline top-1, null when unknown
 * @param samplesSeen pretraining samples seen, null when unknown
 * @param wallSeconds the run's workflow time
 * @param message failure reason, null when finished
 */
public record StudyRunResult(
    String workflowId,
    String modelPreset,
    Long dataSamples,
    Long scheduleSamples,
    double maskRatio,
    int batchSize,
    RunStatus status,
    Double zeroShotTop1,
    Long samplesSeen,
    double wallSeconds,
    String message) {}
