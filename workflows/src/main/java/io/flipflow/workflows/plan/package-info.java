/**
 * What each stage of a run is asked to do: the small records the pipeline hands its activities
 * ({@link io.flipflow.workflows.plan.StagingRequest}, {@link
 * io.flipflow.workflows.plan.TrainingPlan} with its {@link io.flipflow.workflows.plan.TrainConfig},
 * {@link io.flipflow.workflows.plan.EvaluationRequest}) and {@link
 * io.flipflow.workflows.plan.RunPlans}, the one place a run spec becomes them. A stage's signature
 * shows its inputs; none carries the whole spec.
 *
 * <p>May import: the spec and result records of this module, the JDK. Deterministic, no I/O.
 */
package io.flipflow.workflows.plan;
