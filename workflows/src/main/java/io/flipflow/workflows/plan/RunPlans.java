package io.flipflow.workflows.plan;

import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.Stage;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.UnmaskedTuning;

/**
 * The one mapping from a run spec to what each stage is asked to do. Deterministic and free of I/O:
 * the pipeline workflow calls it, and so may anything that needs a stage's exact plan. The
 * optimizer's recipe is the spec's (FLIP's defaults live in {@link RunSpec}).
 */
public final class RunPlans {

  /** Pipeline stages report every step: the training activity batches the rows. */
  static final long METRICS_EVERY = 1;

  private RunPlans() {}

  /** Staging at the model's input size and text context. */
  public static StagingRequest staging(RunSpec spec, PresetFacts preset) {
    return new StagingRequest(spec.dataUri(), spec.imageSize(), preset.contextLength());
  }

  /** Masked pretraining at the spec's ratio for its schedule. */
  public static TrainConfig pretrainingConfig(RunSpec spec) {
    return new TrainConfig(
        spec.modelPreset(),
        spec.maskRatio(),
        spec.batchSize(),
        spec.scheduleSteps(),
        spec.baseLr(),
        spec.effectiveWarmupSamples() / spec.batchSize(),
        spec.weightDecay(),
        RunSpec.ADAM_BETA1,
        spec.adamBeta2(),
        RunSpec.ADAM_EPSILON,
        spec.gradClipNorm(),
        spec.seed(),
        spec.checkpointIntervalSteps(),
        METRICS_EVERY,
        spec.precision(),
        spec.textMaskRatio(),
        spec.textMasking(),
        spec.reconstruction(),
        spec.attention());
  }

  /**
   * FLIP's unmasked tuning after pretraining: mask 0, {@code tuning.sampleFraction()} of the
   * samples pretraining saw, at {@code tuning.lrFactor()} of its learning rate, warming up over
   * {@code tuning.warmupFraction()} of the stage (at most as long as pretraining did), and a seed
   * of its own.
   */
  public static TrainConfig tuningConfig(
      TrainConfig pretraining, long pretrainedSamples, UnmaskedTuning tuning) {
    long steps =
        Math.max(
            1, Math.round(pretrainedSamples * tuning.sampleFraction() / pretraining.batchSize()));
    return pretraining
        .with()
        .maskRatio(0.0)
        .textMaskRatio(null)
        .textMasking(null)
        .reconstruction(null)
        .totalSteps(steps)
        .baseLearningRate(pretraining.baseLearningRate() * tuning.lrFactor())
        .warmupSteps(tuning.warmupSteps(steps))
        .seed(pretraining.seed() + 1)
        .checkpointEvery(Math.max(1, Math.min(pretraining.checkpointEvery(), steps)))
        .build();
  }

  /** Masked pretraining from the seed, or from {@code spec.initFrom()}'s weights when set. */
  public static TrainingPlan pretraining(RunSpec spec, StagedDataset data) {
    return new TrainingPlan(
        Stage.PRETRAIN,
        pretrainingConfig(spec),
        data,
        spec.initFrom() == null ? null : new CheckpointRef(spec.initFrom(), 0, 0),
        spec.device(),
        spec.wallClockBudgetSeconds(),
        spec.dataSamples(),
        spec.fingerprint(),
        null,
        spec.dataSampling(),
        spec.dataStreams());
  }

  /**
   * Tuning from {@code pretrained}, sized by the samples pretraining actually saw, with its
   * optimizer state where the spec carries it over.
   */
  public static TrainingPlan tuning(RunSpec spec, StagedDataset data, CheckpointRef pretrained) {
    return new TrainingPlan(
        Stage.UNMASKED_TUNE,
        tuningConfig(pretrainingConfig(spec), pretrained.samplesSeen(), spec.unmaskedTuning()),
        data,
        pretrained,
        spec.device(),
        null,
        spec.dataSamples(),
        spec.fingerprint(),
        spec.unmaskedTuning().carriesOptimizer() ? Boolean.TRUE : null,
        spec.dataSampling(),
        spec.dataStreams());
  }

  public static EvaluationRequest evaluation(
      RunSpec spec, StagedDataset data, CheckpointRef checkpoint, String phase) {
    boolean tuningFollows =
        EvaluationRequest.PRETRAINED.equals(phase) && spec.unmaskedTuning().enabled();
    return new EvaluationRequest(
        phase,
        checkpoint,
        spec.evalSetUris(),
        data.tokenizerUri(),
        spec.modelPreset(),
        spec.device(),
        spec.seed(),
        null,
        spec.maskRatio(),
        tuningFollows && spec.heldOutBeforeTuning() ? Boolean.TRUE : null);
  }

  /** The size of the training set a run uses: its data-size subset, or all staged samples. */
  public static long samplesUsed(RunSpec spec, StagedDataset data) {
    return spec.dataSamples() == null
        ? data.sampleCount()
        : Math.min(spec.dataSamples(), data.sampleCount());
  }
}
