package io.flipflow.activities.eval;

import java.util.List;

/** A zero-shot retrieval set: images, each with one or more captions. */
public record RetrievalSet(String name, List<Sample> samples) {

  /** An image and its captions (any of them counts as a match). */
  public record Sample(ImageRef image, List<String> captions) {
    public Sample {
      captions = List.copyOf(captions);
    }
  }

  public RetrievalSet {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("evaluation set name is missing");
    }
    if (samples == null || samples.isEmpty()) {
      throw new IllegalArgumentException("evaluation set '" + name + "' has no samples");
    }
    for (Sample s : samples) {
      if (s.captions().isEmpty() || s.captions().stream().anyMatch(String::isBlank)) {
        throw new IllegalArgumentException(
            "evaluation set '"
                + name
                + "': image "
                + s.image().name()
                + " has no caption or a blank one");
      }
    }
    samples = List.copyOf(samples);
  }
}
