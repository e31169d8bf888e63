package io.flipflow.activities.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.SpecFiles;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class PresetSpecChecksTest {
  private final PresetSpecChecks checks = new PresetSpecChecks();
  private final RunSpec good =
      SpecFiles.readRun(
          Path.of(System.getProperty("user.dir"))
              .getParent()
              .resolve("config/runs/emoji-tiny-mask50.json"));

  @Test
  void theShippedRunSpecsPass() {
    assertEquals(List.of(), checks.checkAgainstPreset(good));
  }

  @Test
  void aPrecisionTheEngineCannotTrainAtIsNamedBeforeTheRunStarts() {
    assertEquals(List.of(), checks.checkAgainstPreset(good.toBuilder().precision("fp32").build()));
    List<String> p = checks.checkAgainstPreset(good.toBuilder().precision("bf16").build());
    assertEquals(1, p.size());
    assertTrue(p.get(0).startsWith("precision: bf16 is not available"), p.get(0));
  }

  @Test
  void anUnknownPresetIsNamed() {
    List<String> p = checks.checkAgainstPreset(good.toBuilder().modelPreset("tiny-emojii").build());
    assertEquals(1, p.size());
    assertTrue(p.get(0).startsWith("modelPreset: unknown model preset 'tiny-emojii'"), p.get(0));
  }

  @Test
  void imageSizesThePresetCannotTakeAreNamed() {
    assertTrue(
        checks
            .checkAgainstPreset(good.toBuilder().imageSize(60).build())
            .get(0)
            .contains("imageSize: 60 is not divisible by preset tiny-emoji's patch size 8"));
    assertTrue(
        checks
            .checkAgainstPreset(good.toBuilder().imageSize(96).build())
            .get(0)
            .contains("imageSize: 96 differs from preset tiny-emoji's 64 px"));
  }
}
