package io.flipflow.workflows.plan;

import java.util.List;

/**
 * What the pipeline learns about a spec's model preset when it starts (the presets live with the
 * workers): the spec's problems against it, and the sizes the stages need. The sizes are null when
 * the preset is unknown.
 *
 * @param problems every problem of the spec against its preset, each naming its field
 * @param imageSize the preset's input side in pixels, the spec's default
 * @param contextLength the preset's text context: captions are tokenized to it
 */
public record PresetFacts(List<String> problems, Integer imageSize, Integer contextLength) {
  public PresetFacts {
    problems = problems == null ? List.of() : List.copyOf(problems);
  }
}
