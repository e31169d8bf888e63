package io.flipflow.activities.model;

import io.flipflow.workflows.activities.SpecActivities;
import io.flipflow.workflows.plan.PresetFacts;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.spec.RunSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * Every check of a run against its model preset, in one place: the spec's (a local activity on the
 * control worker when a pipeline starts, no libtorch) and the staged data's (when training starts).
 * What a preset is valid by itself is {@link ModelPreset#validate()}.
 */
public final class PresetChecks implements SpecActivities {
  @Override
  public PresetFacts presetFacts(RunSpec spec) {
    ModelPreset preset;
    try {
      preset = ModelPreset.load(spec.modelPreset());
    } catch (IllegalArgumentException e) {
      return new PresetFacts(
          List.of("modelPreset: " + e.getMessage().replaceFirst("^preset: ", "")), null, null);
    }
    return new PresetFacts(problems(spec, preset), preset.imageSize(), preset.contextLength());
  }

  @Override
  @Deprecated
  public List<String> checkAgainstPreset(RunSpec spec) {
    return presetFacts(spec).problems();
  }

  private static List<String> problems(RunSpec spec, ModelPreset preset) {
    List<String> problems = new ArrayList<>();
    Integer size = spec.imageSize();
    if (size != null && size % preset.patchSize() != 0) {
      problems.add(
          "imageSize: "
              + size
              + " is not divisible by preset "
              + preset.name()
              + "'s patch size "
              + preset.patchSize());
    } else if (size != null && size != preset.imageSize()) {
      problems.add(
          "imageSize: "
              + size
              + " differs from preset "
              + preset.name()
              + "'s "
              + preset.imageSize()
              + " px; leave it out to take the preset's");
    }
    if (spec.reconstruction() != null) {
      String problem =
          MaeDecoder.widthProblem(
              preset, spec.reconstruction().decoderWidthFor(preset.visionWidth()));
      if (problem != null) {
        problems.add(problem);
      }
    }
    return problems;
  }

  /** Refuses staged data the preset cannot train on, naming both sides. */
  public static void checkData(ModelPreset preset, StagedDataset data) {
    if (data.resolution() != preset.imageSize()) {
      throw new IllegalArgumentException(
          "staged data is at "
              + data.resolution()
              + " px but preset "
              + preset.name()
              + " takes "
              + preset.imageSize());
    }
    if (data.vocabSize() > preset.vocabSize()) {
      throw new IllegalArgumentException(
          "the data's tokenizer has "
              + data.vocabSize()
              + " tokens but preset "
              + preset.name()
              + " embeds only "
              + preset.vocabSize());
    }
    if (data.contextLength() != preset.contextLength()) {
      throw new IllegalArgumentException(
          "staged data has context length "
              + data.contextLength()
              + " but preset "
              + preset.name()
              + " takes "
              + preset.contextLength());
    }
  }
}
