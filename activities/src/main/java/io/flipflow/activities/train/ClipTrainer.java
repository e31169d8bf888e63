package io.flipflow.activities.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.checkpoint.CheckpointState;
import io.flipflow.activities.device.Devices;
import io.flipflow.activities.model.Attention;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.GradMode;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.model.Precision;
import io.flipflow.activities.model.TextMasking;
import io.flipflow.workflows.plan.TrainConfig;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one training loop behind masked pretraining and unmasked tuning: per step a fresh random
 * mask, symmetric InfoNCE, AdamW with CLIP's parameter groups, warmup + cosine schedule,
 * checkpoints every N steps and at the end, and a stop request honoured at step boundaries.
 *
 * <p>Determinism: initial weights and every step's mask noise come from {@link StepSeeds}, so a
 * resumed run continues exactly as an uninterrupted one.
 *
 * <p>Memory: each step runs in its own NDManager, closed at the end of the step; weights and
 * optimizer state live in the model's manager, whose array count stays flat.
 *
 * <p>Devices: everything lives on the one device given (the CPU unless a caller leased a GPU).
 * Several devices train one run as several processes, one device each, data-parallel over c10d
 * ({@link #withRanks}, {@link RankGroup}).
 *
 * <p>Over 350 lines: the step (forward, loss, the two-phase backward, AdamW) reads best in one
 * place, as in OpenCLIP's train_one_epoch; ranks, seeds and checkpoints are their own classes, and
 * what grew since (the wall-clock re-fit, the checkpoint's tokenizer) is plumbing into the loop.
 */
public final class ClipTrainer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ClipTrainer.class);

  // a wall-clock budget re-fits the schedule's length during the run (WallClockBudget.Pace)
  private TrainConfig config;
  private final ModelPreset preset;
  private final List<Device> devices;
  private final NDManager root;
  private final ClipModel model;
  private final AdamW optimizer;
  private LossScaler lossScaler; // fp16 only
  private RankGroup ranks; // data-parallel across processes; null in one process
  private LearningRateSchedule schedule;
  private WallClockBudget.Pace pace;
  private long step;
  private long samplesSeen;
  private long dataPosition;
  private float lastLoss = Float.NaN;
  private volatile Path lastCheckpoint;
  private CheckpointState.Origin origin;
  // the tokenizer its captions are encoded with: named in every checkpoint, its bytes carried when
  // known here (an imported model, a resumed checkpoint), else fetched at upload from the source
  private CheckpointState.TokenizerRef tokenizer;
  private byte[] tokenizerJson;
  private boolean tokensChecked;

  private ClipTrainer(TrainConfig config, ModelPreset preset, List<Device> devices) {
    config.validate();
    preset.validate();
    if (devices.size() != 1) {
      throw new IllegalArgumentException(
          "devices: a trainer runs on one device, got "
              + devices
              + "; train on several as ranks, one process each");
    }
    // refused at start, naming why, where this worker's engine cannot do it
    Precision precision = Precision.requireSupported(config.precision(), "precision");
    Attention attention = Attention.requireSupported(config.attention(), "attention");
    Devices.checkAvailable(devices, "devices");
    this.config = config;
    this.preset = preset;
    this.devices = List.copyOf(devices);
    this.root = NDManager.newBaseManager(devices.get(0));
    ClipModel created;
    try {
      created =
          ClipModel.create(preset, root, StepSeeds.init(config.seed()), config.reconstruction());
    } catch (RuntimeException e) {
      root.close();
      throw e;
    }
    this.model = created.setPrecision(precision).setAttention(attention);
    NDManager optimizerState = model.manager().newSubManager();
    optimizerState.setName("adamw-state");
    this.optimizer = new AdamW(config, optimizerState);
    this.lossScaler = precision == Precision.FP16 ? new LossScaler(LossScaler.INITIAL_SCALE) : null;
    this.schedule = LearningRateSchedule.of(config);
  }

  /** A fresh run on the CPU: weights initialised from the config's seed. */
  public static ClipTrainer create(TrainConfig config, ModelPreset preset) {
    return create(config, preset, List.of(Devices.cpu()));
  }

  /**
   * A fresh run on {@code devices}: the first holds the weights, the optimizer and the loss; with
   * more than one, each step is split across all of them. Validates the config and the preset.
   */
  public static ClipTrainer create(TrainConfig config, ModelPreset preset, List<Device> devices) {
    return new ClipTrainer(config, preset, devices);
  }

  /** Continues the run saved in {@code checkpoint} exactly, on the CPU. */
  public static ClipTrainer resume(Path checkpoint) {
    return resume(checkpoint, List.of(Devices.cpu()));
  }

  /**
   * Continues the run saved in {@code checkpoint} exactly (same config, step, data, optimizer) on
   * {@code devices}; a run may move between devices and device counts at a checkpoint.
   */
  public static ClipTrainer resume(Path checkpoint, List<Device> devices) {
    CheckpointState state = CheckpointDir.readState(checkpoint);
    ClipTrainer trainer = new ClipTrainer(state.config(), state.preset(), devices);
    try {
      trainer.loadWeights(checkpoint);
      trainer.loadOptimizer(checkpoint);
    } catch (RuntimeException e) {
      trainer.close();
      throw e;
    }
    trainer.keepTokenizerOf(checkpoint, state);
    trainer.keepLossScaleOf(state);
    trainer.step = state.step();
    trainer.samplesSeen = state.samplesSeen();
    trainer.dataPosition = state.dataPosition();
    trainer.lastLoss = state.lastLoss();
    trainer.lastCheckpoint = checkpoint;
    return trainer;
  }

  /** As {@link #fromWeights(Path, TrainConfig, List)} on the CPU. */
  public static ClipTrainer fromWeights(Path checkpoint, TrainConfig config) {
    return fromWeights(checkpoint, config, List.of(Devices.cpu()));
  }

  /**
   * A new stage starting from another stage's weights (unmasked tuning after pretraining): fresh
   * optimizer state, step 0, the new config's schedule, on {@code devices}. The model is the
   * checkpoint's.
   */
  public static ClipTrainer fromWeights(Path checkpoint, TrainConfig config, List<Device> devices) {
    return fromCheckpoint(checkpoint, config, devices, false);
  }

  /**
   * As {@link #fromWeights(Path, TrainConfig, List)}, but the optimizer goes on from the
   * checkpoint's moments and update count (unmasked tuning with the optimizer carried over): only
   * the step, the schedule and the config are new.
   */
  public static ClipTrainer fromWeightsAndOptimizer(
      Path checkpoint, TrainConfig config, List<Device> devices) {
    return fromCheckpoint(checkpoint, config, devices, true);
  }

  private static ClipTrainer fromCheckpoint(
      Path checkpoint, TrainConfig config, List<Device> devices, boolean withOptimizer) {
    CheckpointState state = CheckpointDir.readState(checkpoint);
    ClipTrainer trainer = new ClipTrainer(config, state.preset(), devices);
    try {
      trainer.loadWeights(checkpoint);
      trainer.keepTokenizerOf(checkpoint, state);
      if (withOptimizer) {
        trainer.loadOptimizer(checkpoint);
        trainer.keepLossScaleOf(state);
      }
    } catch (RuntimeException e) {
      trainer.close();
      throw e;
    }
    return trainer;
  }

  private void loadOptimizer(Path checkpoint) {
    try (DataInputStream in = CheckpointDir.open(checkpoint, CheckpointDir.OPTIMIZER)) {
      // a decoder's moments (Table 1f) stay behind when tuning goes on without the decoder
      optimizer.load(in, model.getParameters(), name -> !model.hasDecoder() && isDecoder(name));
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint: cannot read " + checkpoint, e);
    }
  }

  private void loadWeights(Path checkpoint) {
    CheckpointDir.loadWeights(checkpoint, model);
  }

  /** Whether a DJL parameter id is one of Table 1f's decoder ({@code NNdecoder_...}). */
  private static boolean isDecoder(String djlName) {
    return djlName.matches("\\d*decoder_.*");
  }

  /** fp16 goes on at the checkpoint's loss scale (a checkpoint of another precision has none). */
  private void keepLossScaleOf(CheckpointState state) {
    if (lossScaler != null && state.lossScale() != null) {
      lossScaler = LossScaler.of(state.lossScale());
    }
  }

  /** fp16's current loss scale; NaN at other precisions. */
  public double lossScale() {
    return lossScaler == null ? Double.NaN : lossScaler.scale();
  }

  /** Steps fp16 skipped for overflowing gradients; 0 at other precisions. */
  public long skippedSteps() {
    return lossScaler == null ? 0 : lossScaler.skippedSteps();
  }

  /**
   * Trains as one rank of a data-parallel job over {@code group}'s processes: this rank's share of
   * every global batch, the InfoNCE over the global batch, gradients summed across ranks. Rank 0's
   * weights are broadcast now (call it after {@link #resume}: all ranks resume from the same
   * checkpoint). Refused with Table 1f's decoder.
   */
  public ClipTrainer withRanks(RankGroup group) {
    if (model.hasDecoder()) {
      throw new IllegalArgumentException("reconstruction (Table 1f) trains in one process");
    }
    group.checkBatch(config.batchSize());
    try (NDManager scope = root.newSubManager()) {
      group.checkSameStart(step, dataPosition, config.totalSteps(), scope);
    }
    group.broadcastWeights(model);
    this.ranks = group;
    return this;
  }

  /** Test hook: fp16 starts at this loss scale instead of GradScaler's 65,536. */
  ClipTrainer withInitialLossScale(double scale) {
    if (lossScaler == null) {
      throw new IllegalStateException(
          "a loss scale is for fp16, this trainer is " + config.precision());
    }
    lossScaler = new LossScaler(scale);
    return this;
  }

  /** The checkpoint's tokenizer goes on with the weights (and data must be encoded with it). */
  private void keepTokenizerOf(Path checkpoint, CheckpointState state) {
    tokenizer = state.tokenizer();
    tokenizerJson = CheckpointDir.tokenizer(checkpoint).orElse(null);
  }

  /**
   * The tokenizer the training data is encoded with, written into every checkpoint (for callers
   * without a {@link BatchSource#tokenizer()}: tests, tools).
   */
  public ClipTrainer withTokenizer(byte[] json, String source) {
    this.tokenizerJson = json.clone();
    this.tokenizer = new CheckpointState.TokenizerRef(CheckpointDir.sha256(json), source);
    return this;
  }

  /** Names where this trainer's checkpoints come from (written into each state.json). */
  public ClipTrainer withOrigin(CheckpointState.Origin origin) {
    this.origin = origin;
    return this;
  }

  /**
   * Ends this trainer's runs on the clock: after every step the schedule's length is re-fitted to
   * what the budget still holds (at most the cap), so the run stops at the step boundary nearest
   * the budget with its cosine ending there. Checkpoints keep the re-fitted length.
   */
  ClipTrainer withWallClockBudget(long budgetSeconds, long capSteps) {
    this.pace = new WallClockBudget.Pace(budgetSeconds, capSteps);
    return this;
  }

  /** The schedule now has {@code totalSteps} steps; warmup stays as it was where it still fits. */
  private void refit(long totalSteps) {
    if (totalSteps == config.totalSteps()) {
      return;
    }
    config =
        config
            .with()
            .totalSteps(totalSteps)
            .warmupSteps(Math.min(config.warmupSteps(), totalSteps))
            .build();
    schedule = LearningRateSchedule.of(config);
  }

  public ClipModel model() {
    return model;
  }

  public TrainConfig config() {
    return config;
  }

  /** The devices this trainer runs on; the first holds the weights and the optimizer. */
  public List<Device> devices() {
    return devices;
  }

  public long step() {
    return step;
  }

  public long samplesSeen() {
    return samplesSeen;
  }

  /** The newest checkpoint written or resumed from; null before the first. */
  public Path lastCheckpoint() {
    return lastCheckpoint;
  }

  /**
   * Trains from the current step to {@code config.totalSteps()}, reading from {@code data} (sought
   * to the saved position first), checkpointing under {@code checkpointRoot}. Checks {@code
   * stopRequested} before every step; when it answers true, writes a checkpoint and returns with
   * {@code stopped = true}. {@code onCheckpoint} gets each checkpoint folder right after it is
   * written, before the next step: the activity uploads and records it there, so a lost worker
   * never costs more than one checkpoint interval.
   *
   * @throws TrainingDivergedException when the loss is NaN or infinite (nothing is updated)
   */
  public LoopResult run(
      BatchSource data,
      Path checkpointRoot,
      StepListener listener,
      BooleanSupplier stopRequested,
      Consumer<Path> onCheckpoint) {
    GradMode.offOnThisThread();
    adoptTokenizer(data.tokenizer());
    data.seek(dataPosition);
    long savedAt = lastCheckpoint == null ? -1 : step;
    if (pace != null) {
      pace.start(step, System.nanoTime());
      refit(pace.totalSteps(step, System.nanoTime(), config.totalSteps()));
    }
    boolean leader = ranks == null || ranks.isLeader();
    boolean agreedStop = ranks != null && agree(stopRequested);
    while (step < config.totalSteps()) {
      if (ranks == null ? stopRequested.getAsBoolean() : agreedStop) {
        Path checkpoint = lastCheckpoint;
        if (savedAt != step && leader) {
          checkpoint = saveCheckpoint(checkpointRoot);
          onCheckpoint.accept(checkpoint);
        }
        LOG.info("stop requested: stopped at step {}, checkpoint {}", step, checkpoint);
        return new LoopResult(step, samplesSeen, lastLoss, true, checkpoint);
      }
      long started = System.nanoTime();
      double learningRate = schedule.at(step);
      float loss;
      float reconstructionLoss;
      try (NDManager stepManager = root.newSubManager()) {
        Batch batch = data.next(stepManager, config.batchSize());
        if (!tokensChecked) {
          model.checkEndOfText(batch.tokens());
          tokensChecked = true;
        }
        StepResult result = trainStep(batch, config.maskRatio(), learningRate, stepManager);
        loss = result.loss();
        reconstructionLoss = result.reconstructionLoss();
      }
      step++;
      samplesSeen += config.batchSize();
      dataPosition = data.position();
      lastLoss = loss;
      double millis = (System.nanoTime() - started) / 1e6;
      if (pace != null) {
        refit(pace.totalSteps(step, System.nanoTime(), config.totalSteps()));
      }
      if (ranks != null) {
        // every rank leaves the loop at the same step: rank 0's schedule, anyone's stop
        agreedStop = agree(stopRequested);
        if (step % ranks.checkEvery() == 0 || step == config.totalSteps()) {
          try (NDManager scope = root.newSubManager()) {
            ranks.checkSameWeights(model, step, scope);
          }
        }
      }
      // every rank hears its steps (a rank's worker watches its own progress for stalls)
      if (step % config.metricsEvery() == 0 || step == config.totalSteps()) {
        listener.onStep(
            new StepListener.StepMetrics(
                step,
                samplesSeen,
                loss,
                model.logitScale(),
                learningRate,
                config.batchSize() * 1000.0 / millis,
                millis,
                reconstructionLoss));
      }
      if (leader && (step % config.checkpointEvery() == 0 || step == config.totalSteps())) {
        long saving = System.nanoTime();
        onCheckpoint.accept(saveCheckpoint(checkpointRoot));
        savedAt = step;
        if (pace != null) {
          pace.checkpointTook(System.nanoTime() - saving);
        }
      }
    }
    if (pace != null) {
      LOG.info("wall-clock budget: {}", pace.describe(step, System.nanoTime()));
    }
    return new LoopResult(step, samplesSeen, lastLoss, false, lastCheckpoint);
  }

  /** The ranks' agreed stop decision; the schedule becomes rank 0's length. */
  private boolean agree(BooleanSupplier stopRequested) {
    try (NDManager scope = root.newSubManager()) {
      long[] agreed = ranks.agree(stopRequested.getAsBoolean(), config.totalSteps(), scope);
      refit(agreed[1]);
      return agreed[0] == 1;
    }
  }

  /**
   * Takes the data's tokenizer as the checkpoints'; refuses data encoded with another tokenizer
   * than the one the weights came with (an imported model, a resumed run).
   */
  private void adoptTokenizer(CheckpointState.TokenizerRef data) {
    if (data == null || data.sha256() == null) {
      return;
    }
    if (tokenizer != null
        && tokenizer.sha256() != null
        && !tokenizer.sha256().equalsIgnoreCase(data.sha256())) {
      throw new IllegalArgumentException(
          "the training data is encoded with tokenizer "
              + data.source()
              + " (SHA-256 "
              + data.sha256()
              + "), but the weights came with tokenizer "
              + tokenizer.source()
              + " (SHA-256 "
              + tokenizer.sha256()
              + "): stage the data with the model's tokenizer.json (put it beside the shards)");
    }
    if (tokenizer == null || tokenizer.sha256() == null) {
      tokenizer = data;
    }
  }

  /** As {@link #run(BatchSource, Path, StepListener, BooleanSupplier, Consumer)}, no callback. */
  public LoopResult run(
      BatchSource data, Path checkpointRoot, StepListener listener, BooleanSupplier stopRequested) {
    return run(data, checkpointRoot, listener, stopRequested, checkpoint -> {});
  }

  /**
   * One step's loss (with Table 1f: the total), its reconstruction loss (NaN without a decoder) and
   * where its time went, in milliseconds.
   */
  public record StepResult(
      float loss,
      float reconstructionLoss,
      double forwardMillis,
      double backwardMillis,
      double optimizerMillis) {}

  /**
   * One optimisation step on {@code batch} at {@code maskRatio} and {@code learningRate}, outside
   * the schedule (the loop's own steps, and benchmarks that time steps): seed the step's
   * randomness, forward with a fresh mask, backward, check the loss, update, clamp the logit scale.
   * Callable from any thread. CPU ops are synchronous, so the phases' wall-clock times are the ops'
   * own (on a GPU they include waiting for queued kernels).
   */
  public StepResult trainStep(
      Batch batch, double maskRatio, double learningRate, NDManager stepManager) {
    GradMode.offOnThisThread();
    Engine.getInstance().setRandomSeed(StepSeeds.step(config.seed(), step));
    Batch masked = maskTexts(batch, stepManager);
    NDArray loss;
    float reconstruction = Float.NaN;
    long started = System.nanoTime();
    long forwardDone;
    if (ranks != null) {
      long[] forwardEnd = new long[1];
      double scale = lossScaler == null ? 1 : lossScaler.scale();
      loss = ranks.lossAndBackward(model, masked, maskRatio, scale, stepManager, forwardEnd);
      forwardDone = forwardEnd[0];
    } else {
      try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
        if (model.hasDecoder() && maskRatio > 0) {
          NDList losses =
              model.lossWithReconstruction(
                  masked.images(),
                  masked.tokens(),
                  masked.textPositions(),
                  maskRatio,
                  config.reconstruction().weight());
          loss = losses.get(0);
          reconstruction = losses.get(1).getFloat();
        } else {
          loss = model.loss(masked.images(), masked.tokens(), masked.textPositions(), maskRatio);
        }
        forwardDone = System.nanoTime();
        collector.backward(lossScaler == null ? loss : lossScaler.scaled(loss));
      }
    }
    float value = loss.getFloat();
    long backwardDone = System.nanoTime();
    if (!Float.isFinite(value)) {
      throw new TrainingDivergedException(step + 1, value, lastCheckpoint);
    }
    if (ranks != null) {
      ranks.allReduceGradients(model);
    }
    // fp16: an overflowing step is skipped (gradients zeroed inside), as GradScaler skips it
    if (lossScaler == null || lossScaler.unscale(model.getParameters())) {
      optimizer.update(model.getParameters(), learningRate, stepManager);
      model.clampLogitScale();
    }
    long optimizerDone = System.nanoTime();
    return new StepResult(
        value,
        reconstruction,
        (forwardDone - started) / 1e6,
        (backwardDone - forwardDone) / 1e6,
        (optimizerDone - backwardDone) / 1e6);
  }

  /**
   * FLIP's text masking (Table 1c) at the config's ratio; the batch as it is at ratio 0. Drawn from
   * the step's seed, so a resumed run masks as the first attempt did.
   */
  private Batch maskTexts(Batch batch, NDManager stepManager) {
    double ratio = config.textMaskRatio() == null ? 0 : config.textMaskRatio();
    if (ratio <= 0) {
      return batch;
    }
    String mode = config.textMasking() == null ? TextMasking.RANDOM : config.textMasking();
    long[] pooled = model.textPoolPositions(batch.tokens());
    NDList kept =
        batch.isRowShare()
            ? TextMasking.apply(
                batch.tokens(),
                pooled,
                ratio,
                mode,
                row -> new Random(StepSeeds.row(config.seed(), step, batch.firstRow() + row)),
                stepManager)
            : TextMasking.apply(
                batch.tokens(),
                pooled,
                ratio,
                mode,
                new Random(StepSeeds.step(config.seed(), step)),
                stepManager);
    return new Batch(batch.images(), kept.get(0), kept.get(1), batch.firstRow());
  }

  /** Writes a checkpoint of the current state under {@code checkpointRoot} and returns its path. */
  public Path saveCheckpoint(Path checkpointRoot) {
    CheckpointState state =
        new CheckpointState(
            CheckpointState.FORMAT,
            preset.name(),
            preset,
            config,
            step,
            samplesSeen,
            dataPosition,
            config.seed(),
            CheckpointState.RNG_SCHEME,
            optimizer.updates(),
            lastLoss,
            origin);
    if (lossScaler != null) {
      state = state.withLossScale(lossScaler.state());
    }
    Path target =
        CheckpointDir.write(
            checkpointRoot, state.withTokenizer(tokenizer), model, optimizer::save, tokenizerJson);
    lastCheckpoint = target;
    LOG.debug("checkpoint at step {}: {}", step, target);
    return target;
  }

  @Override
  public void close() {
    model.close();
    root.close();
  }
}
