/**
 * {@code FlipPipelineWorkflow}: one run, stage by stage, each stage's row recorded as it starts and
 * ends, cancellable at step boundaries. {@link io.flipflow.workflows.pipeline.StageCalls} holds the
 * calls of each workflow version, so old histories replay.
 *
 * <p>May import: the rest of this module, the Temporal SDK's workflow API.
 */
package io.flipflow.workflows.pipeline;
