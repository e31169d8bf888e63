package io.flipflow.workflows.spec;

/**
 * One grid cell of a study: its child workflow id and the run spec it starts.
 *
 * @param workflowId stable child id, {@code <studyId>-<values of the varied axes>}
 * @param spec the run, named after its workflow id
 */
public record StudyCell(String workflowId, RunSpec spec) {}
