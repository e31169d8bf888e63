package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.util.Pair;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.workflows.plan.TrainConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The two AdamW kernels train the same model: ten masked steps of the micro CLIP with clipping
 * active, from one initialisation and one batch, agree in every loss and every weight to float
 * rounding. A kernel that dropped the bias corrections, the decay groups or the clip would part
 * from the other by orders of magnitude more (checked by breaking each while writing this).
 */
class AdamWKernelTest {

  @Test
  void multiTensorAndPerTensorKernelsTrainTheSameModel() {
    AdamWTest.assumeKernel(AdamW.Kernel.MULTI_TENSOR);
    ModelPreset preset = ClipTrainerTest.micro();
    TrainConfig config = ClipTrainerTest.config(0.5, 16, 10).with().gradClipNorm(0.5).build();
    Trained perTensor = train(preset, config, AdamW.Kernel.PER_TENSOR);
    Trained multiTensor = train(preset, config, AdamW.Kernel.MULTI_TENSOR);
    for (int i = 0; i < perTensor.losses.size(); i++) {
      float a = perTensor.losses.get(i);
      float b = multiTensor.losses.get(i);
      assertEquals(a, b, 1e-4 * Math.abs(a), "loss at step " + (i + 1));
    }
    assertTrue(
        perTensor.losses.get(9) < perTensor.losses.get(0) - 0.05,
        "the steps must move the model, else equality says nothing: " + perTensor.losses);
    double worst = 0;
    double moved = 0;
    for (int i = 0; i < perTensor.weights.size(); i++) {
      float[] w0 = perTensor.initial.get(i);
      float[] a = perTensor.weights.get(i);
      float[] b = multiTensor.weights.get(i);
      for (int j = 0; j < a.length; j++) {
        worst = Math.max(worst, Math.abs(a[j] - b[j]));
        moved = Math.max(moved, Math.abs(a[j] - w0[j]));
      }
    }
    assertTrue(worst < 2e-5, "weights differ by up to " + worst + " (moved up to " + moved + ")");
    assertTrue(moved > 1e-3, "weights moved only " + moved);
  }

  private record Trained(List<Float> losses, List<float[]> initial, List<float[]> weights) {}

  private static Trained train(ModelPreset preset, TrainConfig config, AdamW.Kernel kernel) {
    List<Float> losses = new ArrayList<>();
    List<float[]> initial = new ArrayList<>();
    List<float[]> weights = new ArrayList<>();
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(preset, root, StepSeeds.init(config.seed()))) {
      for (Pair<String, Parameter> p : model.getParameters()) {
        initial.add(p.getValue().getArray().toFloatArray());
      }
      AdamW optimizer = new AdamW(config, model.manager().newSubManager(), kernel);
      SyntheticBatchSource data = new SyntheticBatchSource(preset, 16);
      for (int step = 0; step < config.totalSteps(); step++) {
        try (NDManager stepManager = root.newSubManager()) {
          Batch batch = data.next(stepManager, config.batchSize());
          Engine.getInstance().setRandomSeed(StepSeeds.step(config.seed(), step));
          NDArray loss;
          try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            loss = model.loss(batch.images(), batch.tokens(), config.maskRatio());
            gc.backward(loss);
          }
          losses.add(loss.getFloat());
          optimizer.update(model.getParameters(), 2e-3, stepManager);
          model.clampLogitScale();
        }
      }
      for (Pair<String, Parameter> p : model.getParameters()) {
        weights.add(p.getValue().getArray().toFloatArray());
      }
    }
    return new Trained(losses, initial, weights);
  }
}
