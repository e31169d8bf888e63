package io.flipflow.activities.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.plan.PresetFacts;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.SpecFiles;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class PresetChecksTest {
  private final PresetChecks checks = new PresetChecks();
  private final RunSpec good =
      SpecFiles.readRun(
          Path.of(System.getProperty("user.dir"))
              .getParent()
              .resolve("config/runs/emoji-tiny-mask50.json"));

  @Test
  void theShippedRunSpecsPass() {
    assertEquals(List.of(), problems(good));
  }

  @Test
  void mixedPrecisionIsLeftToTheTrainingWorkerWhoseEngineDecides() {
    // the control worker has no libtorch; whether autocast exists is the gpu worker's to say
    assertEquals(List.of(), problems(good.with().precision("bf16").attention("fused").build()));
  }

  @Test
  void aDecoderWidthThePresetsHeadsCannotSplitIsNamedBeforeTheRunStarts() {
    var reconstruction = new io.flipflow.workflows.spec.Reconstruction(1.0, null, null);
    assertEquals(List.of(), problems(good.withReconstruction(reconstruction)));
    List<String> p =
        problems(
            good.withReconstruction(new io.flipflow.workflows.spec.Reconstruction(1.0, 1, 100)));
    assertEquals(
        List.of(
            "reconstruction.decoderWidth: 100 must be a multiple of 4 and of preset tiny-emoji's"
                + " 3 heads"),
        p);
  }

  @Test
  void anUnknownPresetIsNamed() {
    List<String> p = problems(good.with().modelPreset("tiny-emojii").build());
    assertEquals(1, p.size());
    assertTrue(p.get(0).startsWith("modelPreset: unknown model preset 'tiny-emojii'"), p.get(0));
  }

  @Test
  void theImageSizeDefaultsFromThePreset() {
    PresetFacts facts = checks.presetFacts(good.with().imageSize(null).build());
    assertEquals(List.of(), facts.problems());
    assertEquals(64, facts.imageSize());
    assertEquals(ModelPreset.load("tiny-emoji").contextLength(), facts.contextLength());
  }

  @Test
  void imageSizesThePresetCannotTakeAreNamed() {
    assertTrue(
        problems(good.with().imageSize(60).build())
            .get(0)
            .contains("imageSize: 60 is not divisible by preset tiny-emoji's patch size 8"));
    assertTrue(
        problems(good.with().imageSize(96).build())
            .get(0)
            .contains("imageSize: 96 differs from preset tiny-emoji's 64 px"));
  }

  private List<String> problems(RunSpec spec) {
    return checks.presetFacts(spec).problems();
  }
}
