package io.flipflow.activities.eval;

import java.util.List;

/**
 * A zero-shot classification set: class names, prompt templates and labelled images.
 *
 * <p>Templates hold the class name's place with {@code {c}} (clip_benchmark's and OpenCLIP's
 * convention), {@code {name}} or {@code {}}, e.g. {@code "an emoji of {c}"}.
 */
public record ClassificationSet(
    String name, List<String> classNames, List<String> templates, List<Sample> samples) {

  /** An image and the index of its class in {@link #classNames()}. */
  public record Sample(ImageRef image, int label) {}

  public ClassificationSet {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("evaluation set name is missing");
    }
    if (classNames == null || classNames.isEmpty()) {
      throw new IllegalArgumentException("evaluation set '" + name + "' has an empty class list");
    }
    for (int c = 0; c < classNames.size(); c++) {
      if (classNames.get(c) == null || classNames.get(c).isBlank()) {
        throw new IllegalArgumentException(
            "evaluation set '" + name + "': class " + c + " has a blank name");
      }
    }
    if (templates == null || templates.isEmpty()) {
      throw new IllegalArgumentException("evaluation set '" + name + "' has no prompt templates");
    }
    for (String t : templates) {
      fill(t, "x"); // fails naming the template without a placeholder
    }
    if (samples == null || samples.isEmpty()) {
      throw new IllegalArgumentException("evaluation set '" + name + "' has no samples");
    }
    for (Sample s : samples) {
      if (s.label() < 0 || s.label() >= classNames.size()) {
        throw new IllegalArgumentException(
            "evaluation set '"
                + name
                + "': image "
                + s.image().name()
                + " has label "
                + s.label()
                + ", outside the "
                + classNames.size()
                + " classes");
      }
    }
    classNames = List.copyOf(classNames);
    templates = List.copyOf(templates);
    samples = List.copyOf(samples);
  }

  /** The template with its placeholder replaced by the class name. */
  public static String fill(String template, String className) {
    for (String placeholder : new String[] {"{c}", "{name}", "{}"}) {
      if (template.contains(placeholder)) {
        return template.replace(placeholder, className);
      }
    }
    throw new IllegalArgumentException(
        "prompt template '" + template + "' has no placeholder: use {c} for the class name");
  }
}
