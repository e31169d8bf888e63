package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.engine.NativeTorch;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.workflows.plan.RunPlans;
import io.flipflow.workflows.plan.TrainConfig;
import io.flipflow.workflows.spec.UnmaskedTuning;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The precision field: fp32 by default, kept by every derived config, and in checkpoints. */
class TrainConfigPrecisionTest {
  private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

  @Test
  void defaultsToFp32AndDerivedConfigsKeepIt() {
    TrainConfig c = TrainConfigTest.ok().withPrecision(null);
    assertEquals("fp32", c.precision());
    TrainConfig derived =
        c.withPrecision("fp32")
            .withSeed(3)
            .withTotalSteps(10)
            .with()
            .baseLearningRate(1e-3)
            .warmupSteps(0)
            .build();
    TrainConfig tuning = RunPlans.tuningConfig(derived, 1280, new UnmaskedTuning(true, 0.1, 0.1));
    assertEquals("fp32", tuning.with().checkpointEvery(1).metricsEvery(1).build().precision());
    assertEquals("fp32", c.withPrecision(null).precision());
  }

  @Test
  void whatThisEngineCannotRunAndUnknownValuesAreRejectedNamingTheField() {
    TrainConfig c = TrainConfigTest.ok();
    if (!NativeTorch.isAvailable()) { // mixed precision needs the extension's autocast
      for (String mixed : new String[] {"bf16", "fp16"}) {
        IllegalArgumentException e =
            assertThrows(
                IllegalArgumentException.class,
                () -> ClipTrainer.create(c.withPrecision(mixed), ModelPreset.load("tiny-emoji")));
        assertTrue(e.getMessage().contains("native extension"), e.getMessage());
      }
    }
    IllegalArgumentException fp8 =
        assertThrows(IllegalArgumentException.class, () -> c.withPrecision("fp8").validate());
    assertEquals("precision: 'fp8' is not a precision; write fp32, bf16 or fp16", fp8.getMessage());
    IllegalArgumentException flash =
        assertThrows(IllegalArgumentException.class, () -> c.withAttention("flash").validate());
    assertEquals(
        "attention: 'flash' is not an attention; write explicit or fused", flash.getMessage());
  }

  @Test
  void checkpointsRecordItAndOldCheckpointsWithoutItLoadAsFp32(@TempDir Path dir) throws Exception {
    ModelPreset preset = ClipTrainerTest.micro();
    TrainConfig config =
        ClipTrainerTest.config(0.5, 4, 1).with().baseLearningRate(1e-3).warmupSteps(0).build();
    Path checkpoint;
    try (ClipTrainer trainer = ClipTrainer.create(config, preset)) {
      checkpoint = trainer.saveCheckpoint(dir);
    }
    Path state = checkpoint.resolve(CheckpointDir.STATE);
    JsonObject json = GSON.fromJson(Files.readString(state), JsonObject.class);
    assertEquals("fp32", json.getAsJsonObject("config").get("precision").getAsString());

    json.getAsJsonObject("config").remove("precision"); // as written before the field existed
    Files.writeString(state, GSON.toJson(json));
    assertEquals("fp32", CheckpointDir.readState(checkpoint).config().precision());
    try (ClipTrainer resumed = ClipTrainer.resume(checkpoint)) {
      assertEquals("fp32", resumed.config().precision());
    }
  }
}
