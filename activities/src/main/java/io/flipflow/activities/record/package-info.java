/**
 * The record activities on the control queue: the workflows' writes of runs, stages, studies and
 * study runs, each an idempotent upsert through the db stores, so a retried activity or a replayed
 * workflow never duplicates a row. Light and quick: the workflows call them even while cancelling.
 *
 * <p>May import: the db stores, the workflows' records, {@code support}, Jackson (the spec as
 * JSON). No DJL, no S3.
 */
package io.flipflow.activities.record;
