package io.flipflow.activities.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.flipflow.activities.model.ModelPreset;
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
 * losses and weights: the same check as DataParallelTrainingTest, on real devices. Exit code 1 when
 * they differ.
 */
public final class DeviceCheck {
  private static final double TOLERANCE = 1e-4;

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
      double diff = dataParallelDifference(group);
      System.out.printf(
          "data parallel on %s vs %s alone, 2 steps: max weight difference %.2e (%s)%n",
          args[0], Devices.name(group.get(0)), diff, diff < TOLERANCE ? "OK" : "MISMATCH");
      if (!(diff < TOLERANCE)) {
        System.exit(1);
      }
    }
  }

  /** Largest |w_group - w_single| after two masked steps of a micro model from the same seed. */
  static double dataParallelDifference(List<Device> group) throws IOException {
    ModelPreset micro =
        new ModelPreset("check-micro", 32, 8, 64, 2, 2, 2.0, 32, 32, 8, 64, 2, 2, "eot");
    TrainConfig config =
        new TrainConfig("check-micro", 0.5, 8, 2, 1e-2, 0, 0.05, 0.9, 0.98, 1e-6, 0, 7, 100, 1);
    float[][] single = trainTwoSteps(config, micro, List.of(group.get(0)));
    float[][] sharded = trainTwoSteps(config, micro, group);
    double max = 0;
    for (int p = 0; p < single.length; p++) {
      for (int i = 0; i < single[p].length; i++) {
        max = Math.max(max, Math.abs(single[p][i] - sharded[p][i]));
      }
    }
    return max;
  }

  private static float[][] trainTwoSteps(TrainConfig config, ModelPreset preset, List<Device> on)
      throws IOException {
    Path dir = Files.createTempDirectory("device-check");
    try (ClipTrainer trainer = ClipTrainer.create(config, preset, on)) {
      List<Float> losses = new ArrayList<>();
      trainer.run(
          new SyntheticBatchSource(preset, 16), dir, m -> losses.add(m.loss()), () -> false);
      System.out.printf("  on %s: losses %s%n", on.stream().map(Devices::name).toList(), losses);
      List<float[]> weights = new ArrayList<>();
      for (Pair<String, Parameter> p : trainer.model().getParameters()) {
        weights.add(p.getValue().getArray().toFloatArray());
      }
      return weights.toArray(new float[0][]);
    } finally {
      Checkpoints.deleteRecursively(dir);
    }
  }
}
