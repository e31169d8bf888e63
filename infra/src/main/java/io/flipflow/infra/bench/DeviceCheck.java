package io.flipflow.infra.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.device.Devices;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.train.ClipTrainer;
import io.flipflow.activities.train.LearningRateSchedule;
import io.flipflow.activities.train.SyntheticBatchSource;
import io.flipflow.workflows.plan.TrainConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Which engine, libtorch and devices this worker sees, and whether a matrix product runs on the
 * default device: the first step of the GPU check (infra/deploy/gpu/gpu-check.sh).
 *
 * <p>With a device group as argument (e.g. {@code cuda:0,cpu}), it also trains a micro model for
 * two steps on the group's first device alone and on the whole group, data-parallel, and compares
 * them (DataParallelTrainingTest's check, on real devices). Across devices the arithmetic differs
 * slightly (cuDNN convolutions use TF32 by default, reductions run in other orders), and AdamW's
 * first steps are about {@code lr * sign(g)}, so a weight whose gradient is near zero can move
 * {@code +lr} on one side and {@code -lr} on the other. So the check asks for equal losses
 * (relative 1e-3) and for all but a sliver of the weights (under 1%) to agree within half a step; a
 * missing gradient sum or weight sync changes the second loss by percents and the sign of the
 * update of a large share of weights. Exit code 1 when they differ.
 */
public final class DeviceCheck {

  /** How one device and a group compare after two steps. */
  record Comparison(
      List<Float> singleLosses,
      List<Float> groupLosses,
      double maxRelativeLossDifference,
      double maxWeightDifference,
      double learningRate,
      double shareBeyondHalfAStep) {
    boolean matches() {
      return maxRelativeLossDifference < 1e-3 && shareBeyondHalfAStep < 0.01;
    }
  }

  private DeviceCheck() {}

  public static void main(String[] args) throws IOException {
    Engine engine = Engine.getEngine("PyTorch");
    Device device = engine.defaultDevice();
    System.out.printf(
        "engine %s %s, GPUs %d, default device %s%n",
        engine.getEngineName(), engine.getVersion(), engine.getGpuCount(), device);
    try (NDManager m = NDManager.newBaseManager(device)) {
      NDArray a = m.randomUniform(0, 1, new Shape(1024, 1024));
      long t0 = System.nanoTime();
      float sum = a.matMul(a).sum().getFloat();
      System.out.printf(
          "1024x1024 matMul on %s: sum %.1f in %.1f ms%n",
          device, sum, (System.nanoTime() - t0) / 1e6);
    }
    if (args.length > 0) {
      List<Device> group = Devices.parseList(args[0], "device group (1st argument)");
      Comparison c = compareDataParallel(group);
      System.out.printf(
          "data parallel on %s vs %s alone, 2 steps: losses %s vs %s (max relative difference"
              + " %.1e); weights: max difference %.2e with lr %.2e, %.4f%% beyond half a step"
              + " (%s)%n",
          args[0],
          Devices.name(group.get(0)),
          c.groupLosses(),
          c.singleLosses(),
          c.maxRelativeLossDifference(),
          c.maxWeightDifference(),
          c.learningRate(),
          100 * c.shareBeyondHalfAStep(),
          c.matches() ? "OK" : "MISMATCH");
      if (!c.matches()) {
        System.exit(1);
      }
    }
  }

  /** Two masked steps of a micro model from the same seed, on the group and on its first device. */
  static Comparison compareDataParallel(List<Device> group) throws IOException {
    ModelPreset micro =
        new ModelPreset("check-micro", 32, 8, 64, 2, 2, 2.0, 32, 32, 8, 64, 2, 2, "eot");
    TrainConfig config =
        new TrainConfig(
            "check-micro",
            0.5,
            8,
            2,
            1e-2,
            0,
            0.05,
            0.9,
            0.98,
            1e-6,
            0,
            7,
            100,
            1,
            null,
            null,
            null,
            null,
            null);
    List<Float> singleLosses = new ArrayList<>();
    List<Float> groupLosses = new ArrayList<>();
    float[][] single = trainTwoSteps(config, micro, List.of(group.get(0)), singleLosses);
    float[][] sharded = trainTwoSteps(config, micro, group, groupLosses);
    double lr = LearningRateSchedule.of(config).at(0);
    double maxDiff = 0;
    long beyond = 0;
    long total = 0;
    for (int p = 0; p < single.length; p++) {
      for (int i = 0; i < single[p].length; i++) {
        double d = Math.abs(single[p][i] - sharded[p][i]);
        maxDiff = Math.max(maxDiff, d);
        beyond += d > lr / 2 ? 1 : 0;
        total++;
      }
    }
    double lossDiff = 0;
    for (int i = 0; i < singleLosses.size(); i++) {
      lossDiff =
          Math.max(
              lossDiff,
              Math.abs(singleLosses.get(i) - groupLosses.get(i)) / Math.abs(singleLosses.get(i)));
    }
    return new Comparison(
        singleLosses, groupLosses, lossDiff, maxDiff, lr, beyond / (double) total);
  }

  private static float[][] trainTwoSteps(
      TrainConfig config, ModelPreset preset, List<Device> on, List<Float> losses)
      throws IOException {
    Path dir = Files.createTempDirectory("device-check");
    try (ClipTrainer trainer = ClipTrainer.create(config, preset, on)) {
      trainer.run(
          new SyntheticBatchSource(preset, 16), dir, m -> losses.add(m.loss()), () -> false);
      List<float[]> weights = new ArrayList<>();
      for (Pair<String, Parameter> p : trainer.model().getParameters()) {
        weights.add(p.getValue().getArray().toFloatArray());
      }
      return weights.toArray(new float[0][]);
    } finally {
      CheckpointDir.deleteRecursively(dir);
    }
  }
}
