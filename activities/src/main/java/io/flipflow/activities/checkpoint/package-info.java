/**
 * Checkpoints: the folder on local disk ({@link io.flipflow.activities.checkpoint.CheckpointDir}:
 * weights, optimizer state and {@link io.flipflow.activities.checkpoint.CheckpointState}), and the
 * one tar per checkpoint in S3 ({@link io.flipflow.activities.checkpoint.CheckpointStore}). What
 * travels through Temporal is the workflows' {@code CheckpointRef} (URI, step, samples); what
 * Postgres keeps is the db's {@code CheckpointRow}. Training writes and resumes checkpoints;
 * evaluation loads a model from one for inference alone.
 *
 * <p>May import: {@code model}, {@code data.s3}, the workflows' plan records, DJL, Gson, commons
 * compress. Not {@code train} or {@code eval}: both sit above this package.
 */
package io.flipflow.activities.checkpoint;
