package io.flipflow.workflows.plan;

import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.Stage;
import io.flipflow.workflows.result.StagedDataset;

/**
 * One training stage as the pipeline plans it (see {@link RunPlans}).
 *
 * @param stage {@link Stage#PRETRAIN} or {@link Stage#UNMASKED_TUNE}
 * @param config the optimisation of this stage
 * @param data the staged training set
 * @param initFrom the checkpoint whose weights the stage starts from (step 0, the new config's
 *     schedule): unmasked tuning starts from pretraining's; null to start from the config's seed
 * @param device {@code cpu}, {@code cuda}, {@code cuda:N} or {@code cuda:N,M,...}
 * @param wallClockBudgetSeconds when set, the stage is fitted to train about this long; null for
 *     none
 * @param dataSamples train on a fixed subset of this many staged samples; null for all
 * @param specFingerprint the run's spec fingerprint: checkpoints carry it, and a retry resumes only
 *     from checkpoints of the same one; null in plans made before it existed
 * @param carryOptimizer true: the stage also takes {@code initFrom}'s optimizer state (moments and
 *     update count); null or false: a fresh optimizer
 * @param dataSampling {@code shuffled} or {@code resampled} (the spec's); null, as in plans made
 *     before it existed, for shuffled
 * @param dataStreams the spec's data streams; null, as in plans made before it existed, for 1
 */
public record TrainingPlan(
    Stage stage,
    TrainConfig config,
    StagedDataset data,
    CheckpointRef initFrom,
    String device,
    Long wallClockBudgetSeconds,
    Long dataSamples,
    String specFingerprint,
    Boolean carryOptimizer,
    String dataSampling,
    Integer dataStreams) {

  /** A stage streaming its data shuffled. */
  public TrainingPlan(
      Stage stage,
      TrainConfig config,
      StagedDataset data,
      CheckpointRef initFrom,
      String device,
      Long wallClockBudgetSeconds,
      Long dataSamples,
      String specFingerprint,
      Boolean carryOptimizer) {
    this(
        stage,
        config,
        data,
        initFrom,
        device,
        wallClockBudgetSeconds,
        dataSamples,
        specFingerprint,
        carryOptimizer,
        null,
        null);
  }

  /** Streams the stage's batches are assembled from: {@code dataStreams}, or 1. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  public int streamCount() {
    return dataStreams == null ? 1 : dataStreams;
  }

  /** A stage with a fresh optimizer. */
  public TrainingPlan(
      Stage stage,
      TrainConfig config,
      StagedDataset data,
      CheckpointRef initFrom,
      String device,
      Long wallClockBudgetSeconds,
      Long dataSamples,
      String specFingerprint) {
    this(
        stage,
        config,
        data,
        initFrom,
        device,
        wallClockBudgetSeconds,
        dataSamples,
        specFingerprint,
        null);
  }

  /** Whether the stage goes on with {@code initFrom}'s optimizer state. */
  public boolean carriesOptimizer() {
    return Boolean.TRUE.equals(carryOptimizer);
  }

  /** The name of the stage in the record ({@code stages.stage}, checkpoint keys). */
  public String stageName() {
    return stage.name().toLowerCase(java.util.Locale.ROOT);
  }
}
