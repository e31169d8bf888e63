package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.workflows.plan.TrainConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A step split across devices must be the single-device step: same loss, same updated weights. Here
 * the two "devices" are two separate CPU replicas, which exercises everything of the sharded path
 * (shards, per-replica forward, gather, two-phase backward, gradient sum, weight copy) except the
 * physical transfer between GPUs.
 */
class DataParallelTrainingTest {

  private static final double TOLERANCE = 1e-5;

  @Test
  void twoReplicasTrainExactlyLikeOneDevice(@TempDir Path dir) {
    ModelPreset preset = ClipTrainerTest.micro();
    // 6 samples over 2 shards, masked, 2 steps: the second step sees weights synced after the first
    TrainConfig base = ClipTrainerTest.config(0.5, 6, 2);
    TrainConfig config =
        base.with()
            .baseLearningRate(base.baseLearningRate())
            .warmupSteps(0)
            .build()
            .with()
            .checkpointEvery(100)
            .metricsEvery(1)
            .build();
    Run single = run(config, preset, List.of(Device.cpu()), dir.resolve("one"));
    Run sharded = run(config, preset, List.of(Device.cpu(), Device.cpu()), dir.resolve("two"));
    System.out.printf("losses one device %s, two replicas %s%n", single.losses, sharded.losses);
    assertEquals(2, sharded.losses.size());
    for (int i = 0; i < 2; i++) {
      assertEquals(single.losses.get(i), sharded.losses.get(i), TOLERANCE, "loss of step " + i);
    }
    double maxDiff = 0;
    double maxMove = 0;
    for (Map.Entry<String, float[]> e : single.weights.entrySet()) {
      float[] a = e.getValue();
      float[] b = sharded.weights.get(e.getKey());
      float[] start = single.initial.get(e.getKey());
      for (int i = 0; i < a.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
        maxMove = Math.max(maxMove, Math.abs(a[i] - start[i]));
      }
    }
    System.out.printf("max |w1 - w2| = %.2e, max weight change = %.2e%n", maxDiff, maxMove);
    assertTrue(maxMove > 1e-3, "the two steps must have moved the weights: " + maxMove);
    assertTrue(maxDiff < TOLERANCE, "weights after 2 steps differ by " + maxDiff);
    // replicas carry the master's weights after each step, not their own
    assertEquals(single.weights.keySet(), sharded.replicaWeights.keySet());
    for (Map.Entry<String, float[]> e : sharded.weights.entrySet()) {
      float[] r = sharded.replicaWeights.get(e.getKey());
      for (int i = 0; i < r.length; i++) {
        assertEquals(e.getValue()[i], r[i], 0.0, "replica copy of " + e.getKey());
      }
    }
  }

  @Test
  void batchSmallerThanTheDeviceCountIsRejected() {
    TrainConfig config = ClipTrainerTest.config(0.5, 1, 10);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ClipTrainer.create(
                    config, ClipTrainerTest.micro(), List.of(Device.cpu(), Device.cpu())));
    assertTrue(e.getMessage().contains("batchSize"), e.getMessage());
  }

  @Test
  void aGpuThisMachineLacksIsNamedBeforeAnythingIsAllocated() {
    int gpus = ai.djl.engine.Engine.getInstance().getGpuCount();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ClipTrainer.create(
                    ClipTrainerTest.config(0.5, 4, 10),
                    ClipTrainerTest.micro(),
                    List.of(Device.gpu(gpus))));
    assertTrue(
        e.getMessage().contains("device cuda:" + gpus + " is not on this machine"), e.getMessage());
  }

  private record Run(
      List<Float> losses,
      Map<String, float[]> initial,
      Map<String, float[]> weights,
      Map<String, float[]> replicaWeights) {}

  private static Run run(TrainConfig config, ModelPreset preset, List<Device> devices, Path dir) {
    try (ClipTrainer trainer = ClipTrainer.create(config, preset, devices)) {
      Map<String, float[]> initial = weights(trainer.model().getParameters());
      List<Float> losses = new ArrayList<>();
      trainer.run(
          new SyntheticBatchSource(preset, 12), dir, m -> losses.add(m.loss()), () -> false);
      Map<String, float[]> replica =
          trainer.replicas().isEmpty()
              ? Map.of()
              : weights(trainer.replicas().get(0).getParameters());
      if (!trainer.replicas().isEmpty()) {
        assertNotSame(
            trainer.model().getParameters().get(0).getValue().getArray(),
            trainer.replicas().get(0).getParameters().get(0).getValue().getArray());
      }
      return new Run(losses, initial, weights(trainer.model().getParameters()), replica);
    }
  }

  private static Map<String, float[]> weights(Iterable<Pair<String, Parameter>> parameters) {
    Map<String, float[]> out = new LinkedHashMap<>();
    for (Pair<String, Parameter> p : parameters) {
      NDArray w = p.getValue().getArray();
      out.put(p.getKey(), w.toFloatArray());
    }
    return out;
  }
}
