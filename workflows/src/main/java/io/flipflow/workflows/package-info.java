/**
 * Orchestration: the workflows ({@code pipeline}, {@code study}, {@code staging}, {@code
 * evaluation}), the activity interfaces they call ({@code activities}), what users write ({@code
 * spec}), what each stage is asked ({@code plan}) and answers ({@code result}), task queues, search
 * attributes and failure types. Only references and small records travel through Temporal.
 *
 * <p>May import: the Temporal SDK, Jackson, slf4j. Nothing of the other modules: a control worker
 * never loads libtorch.
 */
package io.flipflow.workflows;
