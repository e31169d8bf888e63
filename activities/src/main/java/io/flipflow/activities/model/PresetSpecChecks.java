package io.flipflow.activities.model;

import io.flipflow.workflows.activities.SpecActivities;
import io.flipflow.workflows.spec.RunSpec;
import java.util.ArrayList;
import java.util.List;

/** The spec checks that need the presets: a local activity on the control worker (no libtorch). */
public final class PresetSpecChecks implements SpecActivities {
  @Override
  public List<String> checkAgainstPreset(RunSpec spec) {
    List<String> problems = new ArrayList<>();
    ModelPreset preset;
    try {
      preset = ModelPreset.load(spec.modelPreset());
    } catch (IllegalArgumentException e) {
      problems.add("modelPreset: " + e.getMessage().replaceFirst("^preset: ", ""));
      return problems;
    }
    if (spec.imageSize() % preset.patchSize() != 0) {
      problems.add(
          "imageSize: "
              + spec.imageSize()
              + " is not divisible by preset "
              + preset.name()
              + "'s patch size "
              + preset.patchSize());
    } else if (spec.imageSize() != preset.imageSize()) {
      problems.add(
          "imageSize: "
              + spec.imageSize()
              + " differs from preset "
              + preset.name()
              + "'s "
              + preset.imageSize()
              + " px");
    }
    if (spec.precision() != null) {
      String reason = Precision.parse(spec.precision(), "precision").unsupportedReason();
      if (reason != null) {
        problems.add("precision: " + reason);
      }
    }
    return problems;
  }
}
