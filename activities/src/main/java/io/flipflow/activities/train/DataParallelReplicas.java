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
import io.flipflow.activities.model.ModelPreset;
import java.util.ArrayList;
import java.util.List;

/**
 * Copies of the master model on the further devices of a data-parallel group, and the step that
 * splits a batch across them with exactly the loss of one device.
 *
 * <p>CLIP's contrastive loss compares every image with every caption of the whole batch, so the
 * shards' embeddings are gathered on the master's device and the loss is taken there (as
 * OpenCLIP/FLIP gather features across GPUs). DJL's device copy ({@code toDevice}) is not
 * differentiable on the PyTorch engine (its native cast runs without autograd), so the backward is
 * split in two: the loss is backpropagated to the gathered embeddings (detached copies marked as
 * leaves), then each replica backpropagates {@code sum(e * dL/de)}, whose gradient with respect to
 * its embeddings {@code e} is exactly {@code dL/de} (the "gradient cache" trick for contrastive
 * losses). The mask is drawn once for the whole batch on the master's device, as a single-device
 * step draws it.
 *
 * <p>Shards run one after another from the training thread; on GPUs their kernels still queue
 * asynchronously, but the copies to the master's device wait for each shard's forward.
 */
final class DataParallelReplicas implements AutoCloseable {
  private final ClipModel master;
  private final List<Device> devices;
  private final List<ClipModel> replicas = new ArrayList<>();
  private final List<NDManager> roots = new ArrayList<>();

  /** Replicas of {@code master} on {@code devices} after the first (the master's own). */
  DataParallelReplicas(ClipModel master, ModelPreset preset, List<Device> devices, int seed) {
    this.master = master;
    this.devices = List.copyOf(devices);
    try {
      for (Device device : devices.subList(1, devices.size())) {
        NDManager root = NDManager.newBaseManager(device);
        roots.add(root);
        replicas.add(ClipModel.create(preset, root, seed));
      }
      // a GPU's generator differs from the CPU's: the same seed is not the same initial weights
      copyWeightsFromMaster();
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  /** The replicas on the further devices, in device order. */
  List<ClipModel> replicas() {
    return replicas;
  }

  /**
   * Forward and backward of one step split across the devices; returns the loss (on the master's
   * device) and sets {@code forwardEnd[0]} when the forward pass is done.
   */
  NDArray lossAndBackward(Batch batch, double maskRatio, NDManager stepManager, long[] forwardEnd) {
    int size = (int) batch.images().getShape().get(0);
    int shards = devices.size();
    NDArray keep = master.sampleKeepIndices(stepManager, size, maskRatio);
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
        NDArray positions =
            batch.textPositions() == null
                ? null
                : batch.textPositions().get(rows).toDevice(device, false);
        NDArray shardKeep = keep == null ? null : keep.get(rows).toDevice(device, false);
        ClipModel replica = i == 0 ? master : replicas.get(i - 1);
        NDList e = replica.trainingEmbeddings(images, tokens, positions, shardKeep);
        embeddings.add(e);
        gatheredImages.add(leafOn(e.get(0), first));
        gatheredTexts.add(leafOn(e.get(1), first));
      }
      NDArray loss =
          master.lossFromEmbeddings(
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
   * One scope per replica: attaching a weight to the same scope twice would hand it to that scope
   * for good and free it when the scope closes.
   */
  void sumGradientsIntoMaster(NDManager stepManager) {
    var mine = master.getParameters();
    for (ClipModel replica : replicas) {
      var theirs = replica.getParameters();
      try (NDManager scope = stepManager.newSubManager()) {
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
  void copyWeightsFromMaster() {
    for (ClipModel replica : replicas) {
      var theirs = replica.getParameters();
      int p = 0;
      for (Pair<String, Parameter> mine : master.getParameters()) {
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

  @Override
  public void close() {
    for (ClipModel replica : replicas) {
      replica.close();
    }
    for (NDManager root : roots) {
      root.close();
    }
  }
}
