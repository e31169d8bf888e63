/**
 * TensorBoard event files for training metrics and evaluation results: {@link
 * io.flipflow.activities.tensorboard.TensorBoardWriter} writes one run's scalars as TFRecord-framed
 * {@code Event} protos that {@code tensorboard --logdir} reads. The protos are encoded by
 * protobuf-java from descriptors of the subset of TensorBoard's event format flipflow writes
 * ({@code EventSchema}); the framing and its masked CRC32C are in {@code TfRecord}.
 *
 * <p>May import: protobuf-java, SLF4J, the JDK.
 */
package io.flipflow.activities.tensorboard;
