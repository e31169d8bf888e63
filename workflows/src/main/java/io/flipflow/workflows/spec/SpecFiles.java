package io.flipflow.workflows.spec;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.temporal.common.converter.JacksonJsonPayloadConverter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads the spec files of {@code config/runs/} and {@code config/studies/} with the same Jackson
 * settings as Temporal's default converter (which also rejects unknown fields), so a file that
 * loads here is exactly what {@code temporal workflow start --input-file} delivers.
 */
public final class SpecFiles {
  private static final ObjectMapper MAPPER = JacksonJsonPayloadConverter.newDefaultObjectMapper();

  private SpecFiles() {}

  /**
   * Reads and validates a run spec; bad content: IllegalArgumentException naming file and field.
   */
  public static RunSpec readRun(Path file) {
    RunSpec spec = read(file, RunSpec.class);
    requireValid(file, spec.validate());
    return spec;
  }

  /** Reads and validates a study spec, every run of its grid included. */
  public static StudySpec readStudy(Path file) {
    StudySpec spec = read(file, StudySpec.class);
    requireValid(file, spec.validate());
    return spec;
  }

  /**
   * A run spec from JSON held elsewhere (the record's {@code runs.spec}); {@code source} names it.
   */
  public static RunSpec parseRun(String json, String source) {
    try {
      return MAPPER.readValue(json, RunSpec.class);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(source + ": not a run spec: " + e.getOriginalMessage(), e);
    }
  }

  /** The JSON Temporal would carry for {@code value}. */
  public static String toJson(Object value) {
    try {
      return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot write " + value.getClass().getSimpleName(), e);
    }
  }

  static <T> T read(Path file, Class<T> type) {
    try {
      return MAPPER.readValue(Files.readString(file), type);
    } catch (UnrecognizedPropertyException e) {
      throw new IllegalArgumentException(
          file
              + ": unknown field '"
              + e.getPropertyName()
              + "' in "
              + type.getSimpleName()
              + "; known fields: "
              + e.getKnownPropertyIds(),
          e);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          file + ": not a valid " + type.getSimpleName() + ": " + e.getOriginalMessage(), e);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": no such file", e);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot read", e);
    }
  }

  private static void requireValid(Path file, List<String> problems) {
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(file + ": " + String.join("; ", problems));
    }
  }
}
