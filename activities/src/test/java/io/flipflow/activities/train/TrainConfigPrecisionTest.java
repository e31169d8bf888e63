package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.flipflow.activities.model.ModelPreset;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The precision field: fp32 by default, kept by every derived config, and in checkpoints. */
class TrainConfigPrecisionTest {

  @Test
  void defaultsToFp32AndDerivedConfigsKeepIt() {
    TrainConfig c = TrainConfig.pretraining("tiny-emoji", 0.5, 128, 1000);
    assertEquals("fp32", c.precision());
    TrainConfig derived =
        c.withPrecision("fp32").withSeed(3).withTotalSteps(10).withSchedule(1e-3, 0);
    assertEquals("fp32", derived.unmaskedTuning(0.1).withIntervals(1, 1).precision());
    assertEquals("fp32", c.withPrecision(null).precision());
  }

  @Test
  void bf16AndUnknownValuesAreRejectedNamingTheField() {
    TrainConfig c = TrainConfig.pretraining("tiny-emoji", 0.5, 128, 1000);
    IllegalArgumentException bf16 =
        assertThrows(
            IllegalArgumentException.class, () -> c.withPrecision("bf16").validateFields());
    assertTrue(bf16.getMessage().startsWith("precision: bf16 is not available"), bf16.getMessage());
    IllegalArgumentException fp8 =
        assertThrows(IllegalArgumentException.class, () -> c.withPrecision("fp8").validateFields());
    assertEquals("precision: 'fp8' is not a precision; write fp32 or bf16", fp8.getMessage());
  }

  @Test
  void checkpointsRecordItAndOldCheckpointsWithoutItLoadAsFp32(@TempDir Path dir) throws Exception {
    ModelPreset preset = ClipTrainerTest.micro();
    TrainConfig config = ClipTrainerTest.config(0.5, 4, 1).withSchedule(1e-3, 0);
    Path checkpoint;
    try (ClipTrainer trainer = ClipTrainer.create(config, preset)) {
      checkpoint = trainer.saveCheckpoint(dir);
    }
    Path state = checkpoint.resolve(Checkpoints.STATE);
    JsonObject json = Checkpoints.GSON.fromJson(Files.readString(state), JsonObject.class);
    assertEquals("fp32", json.getAsJsonObject("config").get("precision").getAsString());

    json.getAsJsonObject("config").remove("precision"); // as written before the field existed
    Files.writeString(state, Checkpoints.GSON.toJson(json));
    assertEquals("fp32", Checkpoints.readState(checkpoint).config().precision());
    try (ClipTrainer resumed = ClipTrainer.resume(checkpoint)) {
      assertEquals("fp32", resumed.config().precision());
    }
  }
}
