package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.activities.model.ModelPreset;
import io.flipflow.workflows.plan.TrainConfig;
import io.flipflow.workflows.plan.TrainConfigBuilder;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.RunSpecBuilder;
import org.junit.jupiter.api.Test;

class TrainConfigTest {

  /** A pretraining config of tiny-emoji: 1000 steps of 128 at mask 0.5. */
  static TrainConfig ok() {
    return TrainConfigBuilder.builder()
        .preset("tiny-emoji")
        .maskRatio(0.5)
        .batchSize(128)
        .totalSteps(1000)
        .baseLearningRate(5e-4)
        .warmupSteps(100)
        .weightDecay(0.2)
        .beta1(0.9)
        .beta2(0.95)
        .epsilon(1e-6)
        .gradClipNorm(0)
        .seed(0)
        .checkpointEvery(100)
        .metricsEvery(10)
        .build();
  }

  private static TrainConfig with(String field, Object value) {
    TrainConfigBuilder c = ok().with();
    switch (field) {
      case "preset" -> c.preset((String) value);
      case "maskRatio" -> c.maskRatio((Double) value);
      case "batchSize" -> c.batchSize((Integer) value);
      case "totalSteps" -> c.totalSteps((Long) value);
      case "baseLearningRate" -> c.baseLearningRate((Double) value);
      default -> throw new IllegalArgumentException(field);
    }
    return c.build();
  }

  /** What a stage does with its config: check it, then resolve its preset. */
  private static ModelPreset resolve(TrainConfig config) {
    return ModelPreset.load(config.validate().preset());
  }

  private static void rejected(String field, Object value, String expected) {
    var e = assertThrows(IllegalArgumentException.class, () -> resolve(with(field, value)));
    assertTrue(e.getMessage().contains(expected), field + ": " + e.getMessage());
  }

  @Test
  void badFieldsAreRejectedByName() {
    assertEquals("tiny-emoji", resolve(ok()).name());
    rejected("maskRatio", 1.0, "maskRatio must be in [0, 1)");
    rejected("maskRatio", -0.25, "maskRatio must be in [0, 1)");
    rejected("maskRatio", Double.NaN, "maskRatio");
    rejected("batchSize", 0, "batchSize must be positive");
    rejected("totalSteps", -5L, "totalSteps must be positive");
    rejected("baseLearningRate", 0.0, "baseLearningRate must be positive");
    rejected("preset", "vit-q-7", "unknown model preset 'vit-q-7'");
  }

  @Test
  void learningRateScalesWithBatchWarmsUpAndDecays() {
    TrainConfig c = ok().with().baseLearningRate(1e-3).warmupSteps(10).build();
    assertEquals(0.5e-3, c.peakLearningRate(), 1e-12); // 1e-3 * 128 / 256
    LearningRateSchedule s = LearningRateSchedule.of(c);
    assertEquals(0.05e-3, s.at(0), 1e-12); // 1/10 of peak
    assertEquals(0.5e-3, s.at(9), 1e-12);
    assertEquals(0.5e-3, s.at(10), 1e-12); // cosine starts at the peak
    assertEquals(0.25e-3, s.at(10 + 495), 1e-9); // half way through the decay
    assertEquals(0.0, s.at(1000), 1e-12);
    RunSpec thousandSamples =
        RunSpecBuilder.builder().batchSize(128).samples(1000L).build(); // rounded up
    assertEquals(8, thousandSamples.scheduleSteps());
  }
}
