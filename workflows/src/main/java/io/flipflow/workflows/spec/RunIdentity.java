package io.flipflow.workflows.spec;

/**
 * Who a pipeline execution claims to be when it starts: the run (its workflow id), this execution,
 * and what it was asked to do.
 *
 * @param workflowId the run's id, the key of its rows
 * @param temporalRunId Temporal's run id of this execution: a retried claim of the same execution
 *     always succeeds
 * @param specFingerprint {@link RunSpec#fingerprint()} of the resolved spec
 * @param resume the spec's {@code resume}: continue an existing run only
 */
public record RunIdentity(
    String workflowId, String temporalRunId, String specFingerprint, boolean resume) {}
