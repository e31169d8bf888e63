/**
 * What stages and workflows answer: staged data, checkpoints, training and evaluation results,
 * progress, summaries of runs and studies. Small records only; weights, images and tensors stay in
 * S3.
 *
 * <p>May import: the JDK.
 */
package io.flipflow.workflows.result;
