package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TrainConfigTest {

  private static TrainConfig ok() {
    return TrainConfig.pretraining("tiny-emoji", 0.5, 128, 1000);
  }

  private static TrainConfig with(String field, Object value) {
    TrainConfig c = ok();
    return new TrainConfig(
        field.equals("preset") ? (String) value : c.preset(),
        field.equals("maskRatio") ? (Double) value : c.maskRatio(),
        field.equals("batchSize") ? (Integer) value : c.batchSize(),
        field.equals("totalSteps") ? (Long) value : c.totalSteps(),
        field.equals("baseLearningRate") ? (Double) value : c.baseLearningRate(),
        c.warmupSteps(),
        c.weightDecay(),
        c.beta1(),
        c.beta2(),
        c.epsilon(),
        c.gradClipNorm(),
        c.seed(),
        c.checkpointEvery(),
        c.metricsEvery());
  }

  private static void rejected(String field, Object value, String expected) {
    var e = assertThrows(IllegalArgumentException.class, () -> with(field, value).validate());
    assertTrue(e.getMessage().contains(expected), field + ": " + e.getMessage());
  }

  @Test
  void badFieldsAreRejectedByName() {
    assertEquals("tiny-emoji", ok().validate().name());
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
    TrainConfig c = ok().withSchedule(1e-3, 10);
    assertEquals(0.5e-3, c.peakLearningRate(), 1e-12); // 1e-3 * 128 / 256
    LearningRateSchedule s = LearningRateSchedule.of(c);
    assertEquals(0.05e-3, s.at(0), 1e-12); // 1/10 of peak
    assertEquals(0.5e-3, s.at(9), 1e-12);
    assertEquals(0.5e-3, s.at(10), 1e-12); // cosine starts at the peak
    assertEquals(0.25e-3, s.at(10 + 495), 1e-9); // half way through the decay
    assertEquals(0.0, s.at(1000), 1e-12);
    assertEquals(8, TrainConfig.stepsForSamples(1000, 128));
  }
}
