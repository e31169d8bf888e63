/**
 * The activity interfaces, one per queue's kind of work: staging (cpu), training and evaluation
 * (gpu), recording and the spec checks (control). Implementations live in the activities module.
 * Methods marked deprecated are served for pipelines started before a workflow version.
 *
 * <p>May import: the spec, plan and result records, Temporal's activity annotations.
 */
package io.flipflow.workflows.activities;
