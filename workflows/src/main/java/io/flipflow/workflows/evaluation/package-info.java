/**
 * {@code EvaluationWorkflow}: one checkpoint on chosen evaluation sets, outside a pipeline.
 *
 * <p>May import: the rest of this module, the Temporal SDK's workflow API.
 */
package io.flipflow.workflows.evaluation;
