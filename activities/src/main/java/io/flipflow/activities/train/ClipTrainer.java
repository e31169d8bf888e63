package io.flipflow.activities.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.util.Pair;
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
import java.util.ArrayList;
import java.util.List;
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
 *
 * <p>Devices: everything lives on the first of {@code devices} (the CPU unless a caller leased a
 * GPU). With several devices a step is data-parallel: see {@link #dataParallelLoss}.
 */
public final class ClipTrainer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ClipTrainer.class);

  private final TrainConfig config;
  private final ModelPreset preset;
  private final List<Device> devices;
  private final NDManager root;
  private final ClipModel model;

  /** One model per further device; their weights are copies of {@link #model}'s after each step. */
  private final List<ClipModel> replicas = new ArrayList<>();

  private final List<NDManager> replicaRoots = new ArrayList<>();
  private final AdamW optimizer;
  private StepTimings lastStepTimings;
  private final LearningRateSchedule schedule;
  private long step;
  private long samplesSeen;
  private long dataPosition;
  private float lastLoss = Float.NaN;
  private volatile Path lastCheckpoint;

  private ClipTrainer(TrainConfig config, ModelPreset preset, List<Device> devices) {
    if (devices.isEmpty()) {
      throw new IllegalArgumentException("devices: at least one device is needed");
    }
    if (config.batchSize() < devices.size()) {
      throw new IllegalArgumentException(
          "batchSize "
              + config.batchSize()
              + " is smaller than the "
              + devices.size()
              + " devices it is split across");
    }
    Devices.checkAvailable(devices, "devices");
    this.config = config;
    this.preset = preset;
    this.devices = List.copyOf(devices);
    this.root = NDManager.newBaseManager(devices.get(0));
    try {
      this.model = ClipModel.create(preset, root, initSeed(config.seed()));
      for (Device device : devices.subList(1, devices.size())) {
        NDManager replicaRoot = NDManager.newBaseManager(device);
        replicaRoots.add(replicaRoot);
        replicas.add(ClipModel.create(preset, replicaRoot, initSeed(config.seed())));
      }
      // a GPU's generator differs from the CPU's: the same seed is not the same initial weights
      copyWeightsToReplicas();
    } catch (RuntimeException e) {
      close();
      throw e;
    }
    NDManager optimizerState = model.manager().newSubManager();
    optimizerState.setName("adamw-state");
    this.optimizer = new AdamW(config, optimizerState);
    this.schedule = LearningRateSchedule.of(config);
  }

  /** A fresh run on the CPU: weights initialised from the config's seed. Validates the config. */
  public static ClipTrainer create(TrainConfig config) {
    return new ClipTrainer(config, config.validate(), List.of(Devices.cpu()));
  }

  /** As {@link #create} but with an explicit preset (tests, preset files), on the CPU. */
  public static ClipTrainer create(TrainConfig config, ModelPreset preset) {
    return create(config, preset, List.of(Devices.cpu()));
  }

  /**
   * As {@link #create(TrainConfig, ModelPreset)} on {@code devices}: the first holds the weights,
   * the optimizer and the loss; with more than one, each step is split across all of them.
   */
  public static ClipTrainer create(TrainConfig config, ModelPreset preset, List<Device> devices) {
    config.validateFields();
    return new ClipTrainer(config, preset.validate(), devices);
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
    CheckpointState state = Checkpoints.readState(checkpoint);
    ClipTrainer trainer = new ClipTrainer(state.config(), state.preset().validate(), devices);
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
    return fromWeights(checkpoint, config, List.of(Devices.cpu()));
  }

  /** As {@link #fromWeights(Path, TrainConfig)} on {@code devices}. */
  public static ClipTrainer fromWeights(Path checkpoint, TrainConfig config, List<Device> devices) {
    CheckpointState state = Checkpoints.readState(checkpoint);
    config.validateFields();
    ClipTrainer trainer = new ClipTrainer(config, state.preset().validate(), devices);
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
    copyWeightsToReplicas();
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

  /** The replicas on the further devices (tests check that they carry the master's weights). */
  List<ClipModel> replicasForTests() {
    return replicas;
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
    GradMode.offOnThisThread(); // benchmarks call this directly, from any thread
    Engine.getInstance().setRandomSeed(stepSeed(config.seed(), step));
    NDArray loss;
    long started = System.nanoTime();
    long forwardDone;
    if (replicas.isEmpty()) {
      try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
        loss = model.loss(batch.images(), batch.tokens(), maskRatio);
        forwardDone = System.nanoTime();
        collector.backward(loss);
      }
    } else {
      long[] forwardEnd = new long[1];
      loss = dataParallelLoss(batch, maskRatio, stepManager, forwardEnd);
      forwardDone = forwardEnd[0];
    }
    float value = loss.getFloat();
    long backwardDone = System.nanoTime();
    if (!Float.isFinite(value)) {
      throw new TrainingDivergedException(step + 1, value, lastCheckpoint);
    }
    if (!replicas.isEmpty()) {
      sumReplicaGradients(stepManager);
    }
    optimizer.update(model.getParameters(), learningRate, stepManager);
    model.clampLogitScale();
    copyWeightsToReplicas();
    long optimizerDone = System.nanoTime();
    lastStepTimings =
        new StepTimings(
            (forwardDone - started) / 1e6,
            (backwardDone - forwardDone) / 1e6,
            (optimizerDone - backwardDone) / 1e6);
    return value;
  }

  /**
   * Forward and backward of one step split across {@link #devices}, with exactly the loss of one
   * device: CLIP's contrastive loss compares every image with every caption of the whole batch, so
   * the shards' embeddings are gathered on the first device and the loss is taken there (as
   * OpenCLIP/FLIP gather features across GPUs). Each shard's encoders run on its device's replica.
   *
   * <p>DJL's device copy ({@code toDevice}) is not differentiable on the PyTorch engine (its native
   * cast runs without autograd), so gradients cannot flow back through the gather by themselves.
   * The backward is therefore split in two: the loss is backpropagated to the gathered embeddings
   * (detached copies marked as leaves), then each replica backpropagates {@code sum(e * dL/de)},
   * whose gradient with respect to its embeddings {@code e} is exactly {@code dL/de} (the "gradient
   * cache" trick for contrastive losses). The mask is drawn once for the whole batch on the first
   * device, as the single-device step draws it.
   *
   * <p>Shards run one after another from this thread; on GPUs their kernels still queue
   * asynchronously, but the copies to the first device wait for each shard's forward.
   */
  private NDArray dataParallelLoss(
      Batch batch, double maskRatio, NDManager stepManager, long[] forwardEnd) {
    int size = (int) batch.images().getShape().get(0);
    int shards = devices.size();
    NDArray keep = model.sampleKeepIndices(stepManager, size, maskRatio);
    List<NDList> embeddings = new ArrayList<>(shards);
    NDList gatheredImages = new NDList(shards);
    NDList gatheredTexts = new NDList(shards);
    Device first = devices.get(0);
    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
      for (int i = 0; i < shards; i++) {
        Device device = devices.get(i);
        NDIndex rows =
            new NDIndex("{}:{}", (long) size * i / shards, (long) size * (i + 1) / shards);
        NDArray images = batch.images().get(rows).toDevice(device, false);
        NDArray tokens = batch.tokens().get(rows).toDevice(device, false);
        NDArray shardKeep = keep == null ? null : keep.get(rows).toDevice(device, false);
        ClipModel replica = i == 0 ? model : replicas.get(i - 1);
        NDList e = replica.trainingEmbeddings(images, tokens, shardKeep);
        embeddings.add(e);
        gatheredImages.add(leafOn(e.get(0), first));
        gatheredTexts.add(leafOn(e.get(1), first));
      }
      NDArray loss =
          model.lossFromEmbeddings(
              NDArrays.concat(gatheredImages, 0), NDArrays.concat(gatheredTexts, 0));
      forwardEnd[0] = System.nanoTime();
      collector.backward(loss);
      for (int i = 0; i < shards; i++) {
        Device device = devices.get(i);
        NDList e = embeddings.get(i);
        NDArray imageGradient = gatheredImages.get(i).getGradient().toDevice(device, false);
        NDArray textGradient = gatheredTexts.get(i).getGradient().toDevice(device, false);
        collector.backward(e.get(0).mul(imageGradient).sum().add(e.get(1).mul(textGradient).sum()));
      }
      return loss;
    }
  }

  /** A copy of {@code x} on {@code device}, cut from x's graph, that collects its own gradient. */
  private static NDArray leafOn(NDArray x, Device device) {
    NDArray leaf = x.stopGradient().toDevice(device, false);
    leaf.setRequiresGradient(true);
    return leaf;
  }

  /**
   * Adds each replica's gradients to the master weights' (the all-reduce of a data-parallel step).
   */
  private void sumReplicaGradients(NDManager stepManager) {
    try (NDManager scope = stepManager.newSubManager()) {
      for (ClipModel replica : replicas) {
        var mine = model.getParameters();
        var theirs = replica.getParameters();
        for (int p = 0; p < mine.size(); p++) {
          NDArray w = mine.get(p).getValue().getArray();
          NDArray r = theirs.get(p).getValue().getArray();
          scope.tempAttachAll(w, r);
          w.getGradient().addi(r.getGradient().toDevice(w.getDevice(), false));
        }
      }
    }
  }

  /**
   * Replaces every replica weight by a copy of the master's (after an update, a load): each replica
   * tensor is swapped for a fresh leaf, which also drops its old gradient. On the same device the
   * copy must be a real clone: the engine's device copy returns the tensor itself.
   */
  private void copyWeightsToReplicas() {
    for (ClipModel replica : replicas) {
      var theirs = replica.getParameters();
      int p = 0;
      for (Pair<String, Parameter> mine : model.getParameters()) {
        NDArray w = mine.getValue().getArray();
        NDArray r = theirs.get(p++).getValue().getArray();
        try (NDManager scope = NDManager.subManagerOf(w)) {
          scope.tempAttachAll(w);
          NDArray copy =
              w.getDevice().equals(r.getDevice()) ? w.duplicate() : w.toDevice(r.getDevice(), true);
          r.intern(copy);
          r.setRequiresGradient(true);
        }
      }
    }
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
    for (ClipModel replica : replicas) {
      replica.close();
    }
    for (NDManager replicaRoot : replicaRoots) {
      replicaRoot.close();
    }
    if (model != null) {
      model.close();
    }
    root.close();
  }
}
