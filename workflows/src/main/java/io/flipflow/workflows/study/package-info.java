/**
 * {@code ScalingStudyWorkflow}: a grid of pipeline runs as children with stable ids and bounded
 * parallelism, continuing as new to keep its history small, each run's outcome recorded.
 *
 * <p>May import: the rest of this module, the Temporal SDK's workflow API.
 */
package io.flipflow.workflows.study;
