/**
 * What users write: a run ({@link io.flipflow.workflows.spec.RunSpec}) and a study over the paper's
 * axes ({@link io.flipflow.workflows.spec.StudySpec}), with their defaults and validation naming
 * every bad field; {@link io.flipflow.workflows.spec.SpecFiles} reads them from JSON.
 *
 * <p>May import: the JDK, Jackson. Deterministic: workflows expand and validate specs.
 */
package io.flipflow.workflows.spec;
