/**
 * Training. The loop: {@link io.flipflow.activities.train.ClipTrainer} (per step a fresh mask,
 * InfoNCE, {@link io.flipflow.activities.train.AdamW}, warmup + cosine {@link
 * io.flipflow.activities.train.LearningRateSchedule}, checkpoints, stop at step boundaries), over a
 * {@link io.flipflow.activities.train.BatchSource}, one rank of a data-parallel job with {@link
 * io.flipflow.activities.train.RankGroup}. The activity: {@link
 * io.flipflow.activities.train.TrainingActivitiesImpl} (lease, heartbeat, failure translation) runs
 * one {@link io.flipflow.activities.train.StageAttempt} per attempt (a gang's ranks meet through
 * {@link io.flipflow.activities.train.RankRendezvous}), which records itself through a {@link
 * io.flipflow.activities.train.StageRecorder} (heartbeat, metrics, checkpoints, progress) and is
 * fitted to a wall-clock budget by {@link io.flipflow.activities.train.WallClockBudget}.
 *
 * <p>May import: {@code model}, {@code checkpoint}, {@code device}, {@code data.staging} (the
 * staged reader), {@code data.s3}, {@code support}, the db stores, the workflows' records and
 * activity interfaces, DJL, Temporal's activity API. Not {@code eval}.
 */
package io.flipflow.activities.train;
