/**
 * TensorBoard event files for training metrics and evaluation results: {@link
 * io.flipflow.activities.tensorboard.TensorBoardWriter} writes one run's scalars as TFRecord-framed
 * {@code Event} protos that {@code tensorboard --logdir} reads. The protos are encoded by
 * protobuf-java from descriptors of the subset of TensorBoard's event format flipflow writes
 * ({@code EventSchema}); the framing and its masked CRC32C are in {@code TfRecord}. {@link
 * io.flipflow.activities.tensorboard.RunCurves} is what training and evaluation use: a run's part
 * in the worker's log folder, copied beside its checkpoints in S3.
 *
 * <p>May import: protobuf-java, SLF4J, the JDK, {@code data.s3} (the copy to S3).
 */
package io.flipflow.activities.tensorboard;
