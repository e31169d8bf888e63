package io.flipflow.activities.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.GradMode;
import io.flipflow.activities.model.ModelPreset;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one training loop behind masked pretraining and unmasked tuning: per step a fresh random
 * mask, symmetric InfoNCE, AdamW with CLIP's parameter groups, warmup + cosine schedule,
 * checkpoints every N steps and at the end, and a stop request honoured at step boundaries.
 *
 * <p>Determinism: initial weights come from {@code seed}; at the start of step s the engine is
 * seeded from (seed, s), so the mask noise of step s is the same whether or not the run was
 * interrupted before it. That replaces saving the engine's generator state, which DJL cannot
 * serialise.
 *
 * <p>Memory: each step runs in its own NDManager, closed at the end of the step; weights and
 * optimizer state live in the model's manager, whose array count stays flat.
 */
public final class ClipTrainer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ClipTrainer.class);

  private final TrainConfig config;
  private final ModelPreset preset;
  private final NDManager root;
  private final ClipModel model;
  private final AdamW optimizer;
  private StepTimings lastStepTimings;
  private final LearningRateSchedule schedule;
  private long step;
  private long samplesSeen;
  private long dataPosition;
  private float lastLoss = Float.NaN;
  private volatile Path lastCheckpoint;

  private ClipTrainer(TrainConfig config, ModelPreset preset) {
    this.config = config;
    this.preset = preset;
    this.root = NDManager.newBaseManager();
    this.model = ClipModel.create(preset, root, initSeed(config.seed()));
    NDManager optimizerState = model.manager().newSubManager();
    optimizerState.setName("adamw-state");
    this.optimizer = new AdamW(config, optimizerState);
    this.schedule = LearningRateSchedule.of(config);
  }

  /** A fresh run: weights initialised from the config's seed. Validates the config first. */
  public static ClipTrainer create(TrainConfig config) {
    return new ClipTrainer(config, config.validate());
  }

  /** As {@link #create} but with an explicit preset (tests, preset files). */
  public static ClipTrainer create(TrainConfig config, ModelPreset preset) {
    config.validateFields();
    return new ClipTrainer(config, preset.validate());
  }

  /** Continues the run saved in {@code checkpoint} exactly (same config, step, data, optimizer). */
  public static ClipTrainer resume(Path checkpoint) {
    CheckpointState state = Checkpoints.readState(checkpoint);
    ClipTrainer trainer = new ClipTrainer(state.config(), state.preset().validate());
    try {
      trainer.loadWeights(checkpoint);
      try (DataInputStream in = open(checkpoint.resolve(Checkpoints.OPTIMIZER))) {
        trainer.optimizer.load(in, trainer.model.getParameters());
      }
    } catch (IOException | RuntimeException e) {
      trainer.close();
      if (e instanceof IOException io) {
        throw new UncheckedIOException("checkpoint: cannot read " + checkpoint, io);
      }
      throw (RuntimeException) e;
    }
    trainer.step = state.step();
    trainer.samplesSeen = state.samplesSeen();
    trainer.dataPosition = state.dataPosition();
    trainer.lastLoss = state.lastLoss();
    trainer.lastCheckpoint = checkpoint;
    return trainer;
  }

  /**
   * A new stage starting from another stage's weights (unmasked tuning after pretraining): fresh
   * optimizer state, step 0, the new config's schedule. The presets must match.
   */
  public static ClipTrainer fromWeights(Path checkpoint, TrainConfig config) {
    CheckpointState state = Checkpoints.readState(checkpoint);
    config.validateFields();
    ClipTrainer trainer = new ClipTrainer(config, state.preset().validate());
    try {
      trainer.loadWeights(checkpoint);
    } catch (IOException e) {
      trainer.close();
      throw new UncheckedIOException("checkpoint: cannot read " + checkpoint, e);
    }
    return trainer;
  }

  private void loadWeights(Path checkpoint) throws IOException {
    try (DataInputStream in = open(checkpoint.resolve(Checkpoints.WEIGHTS))) {
      model.load(in);
    }
  }

  private static DataInputStream open(Path file) throws IOException {
    return new DataInputStream(new BufferedInputStream(Files.newInputStream(file)));
  }

  public ClipModel model() {
    return model;
  }

  public TrainConfig config() {
    return config;
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
   * {@code stopped = true}.
   *
   * @throws TrainingDivergedException when the loss is NaN or infinite (nothing is updated)
   */
  public TrainResult run(
      BatchSource data, Path checkpointRoot, StepListener listener, BooleanSupplier stopRequested) {
    return run(data, checkpointRoot, listener, stopRequested, checkpoint -> {});
  }

  /**
   * As above, and {@code onCheckpoint} is called with each checkpoint folder right after it is
   * written, before the next step: the activity uploads and records it there, so a lost worker
   * never costs more than one checkpoint interval.
   */
  public TrainResult run(
      BatchSource data,
      Path checkpointRoot,
      StepListener listener,
      BooleanSupplier stopRequested,
      java.util.function.Consumer<Path> onCheckpoint) {
    GradMode.offOnThisThread();
    data.seek(dataPosition);
    long savedAt = lastCheckpoint == null ? -1 : step;
    while (step < config.totalSteps()) {
      if (stopRequested.getAsBoolean()) {
        Path checkpoint = lastCheckpoint;
        if (savedAt != step) {
          checkpoint = saveCheckpoint(checkpointRoot);
          onCheckpoint.accept(checkpoint);
        }
        LOG.info("stop requested: stopped at step {}, checkpoint {}", step, checkpoint);
        return new TrainResult(step, samplesSeen, lastLoss, true, checkpoint);
      }
      long started = System.nanoTime();
      double learningRate = schedule.at(step);
      float loss;
      try (NDManager stepManager = root.newSubManager()) {
        Batch batch = data.next(stepManager, config.batchSize());
        loss = trainStep(batch, config.maskRatio(), learningRate, stepManager);
      }
      step++;
      samplesSeen += config.batchSize();
      dataPosition = data.position();
      lastLoss = loss;
      double millis = (System.nanoTime() - started) / 1e6;
      if (step % config.metricsEvery() == 0 || step == config.totalSteps()) {
        listener.onStep(
            new StepListener.StepMetrics(
                step,
                samplesSeen,
                loss,
                model.logitScale(),
                learningRate,
                config.batchSize() * 1000.0 / millis,
                millis));
      }
      if (step % config.checkpointEvery() == 0 || step == config.totalSteps()) {
        onCheckpoint.accept(saveCheckpoint(checkpointRoot));
        savedAt = step;
      }
    }
    return new TrainResult(step, samplesSeen, lastLoss, false, lastCheckpoint);
  }

  /**
   * One optimisation step on {@code batch}: seed the step's randomness, forward with a fresh mask,
   * backward, check the loss, update, clamp the logit scale. Returns the loss.
   */
  float trainStep(Batch batch, double maskRatio, double learningRate, NDManager stepManager) {
    Engine.getInstance().setRandomSeed(stepSeed(config.seed(), step));
    NDArray loss;
    long started = System.nanoTime();
    long forwardDone;
    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
      loss = model.loss(batch.images(), batch.tokens(), maskRatio);
      forwardDone = System.nanoTime();
      collector.backward(loss);
    }
    float value = loss.getFloat();
    long backwardDone = System.nanoTime();
    if (!Float.isFinite(value)) {
      throw new TrainingDivergedException(step + 1, value, lastCheckpoint);
    }
    optimizer.update(model.getParameters(), learningRate, stepManager);
    model.clampLogitScale();
    long optimizerDone = System.nanoTime();
    lastStepTimings =
        new StepTimings(
            (forwardDone - started) / 1e6,
            (backwardDone - forwardDone) / 1e6,
            (optimizerDone - backwardDone) / 1e6);
    return value;
  }

  /**
   * Where the last {@link #trainStep}'s time went, in milliseconds: forward with the loss,
   * backward, and the AdamW update with the logit-scale clamp. CPU ops are synchronous, so
   * wall-clock phases are the ops' own times (on a GPU they would include waiting for queued
   * kernels).
   */
  public record StepTimings(double forwardMillis, double backwardMillis, double optimizerMillis) {}

  /** Timings of the last step, or null before the first. */
  public StepTimings lastStepTimings() {
    return lastStepTimings;
  }

  /** Writes a checkpoint of the current state under {@code checkpointRoot} and returns its path. */
  public Path saveCheckpoint(Path checkpointRoot) {
    Path target = Checkpoints.directoryFor(checkpointRoot, step);
    Path temporary = checkpointRoot.resolve(target.getFileName() + ".tmp");
    try {
      Files.createDirectories(checkpointRoot);
      if (Files.exists(temporary)) {
        Checkpoints.deleteRecursively(temporary);
      }
      Files.createDirectories(temporary);
      try (DataOutputStream out = create(temporary.resolve(Checkpoints.WEIGHTS))) {
        model.save(out);
      }
      try (DataOutputStream out = create(temporary.resolve(Checkpoints.OPTIMIZER))) {
        optimizer.save(out);
      }
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
              lastLoss);
      Files.writeString(temporary.resolve(Checkpoints.STATE), Checkpoints.GSON.toJson(state));
      Checkpoints.publish(temporary, target);
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint: cannot write " + target, e);
    }
    lastCheckpoint = target;
    LOG.debug("checkpoint at step {}: {}", step, target);
    return target;
  }

  private static DataOutputStream create(Path file) throws IOException {
    return new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file)));
  }

  static int initSeed(long seed) {
    return (int) splitMix64(seed);
  }

  /** The engine seed of step {@code step}: a hash of (seed, step), independent of history. */
  static int stepSeed(long seed, long step) {
    return (int) splitMix64(splitMix64(seed) + step);
  }

  private static long splitMix64(long x) {
    long z = x + 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  @Override
  public void close() {
    model.close();
    root.close();
  }
}
