package io.flipflow.activities.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The small JSON files beside an evaluation set, and the decode check every reader does.
 *
 * <ul>
 *   <li>{@code classes.json}: the classes in index order, either an array of names ({@code
 *       ["mammals", "birds"]}; the name is also the class's folder or manifest id) or an object
 *       from id to name ({@code {"animal-mammal": "mammals", ...}}; ids name folders or manifest
 *       rows).
 *   <li>{@code templates.json}: an array of prompt templates with {@code {c}} for the class name.
 * </ul>
 */
final class EvalSetFiles {
  static final String CLASSES = "classes.json";
  static final String TEMPLATES = "templates.json";

  private EvalSetFiles() {}

  /** A class: the id that folders or manifests use, and the name the prompts use. */
  record ClassEntry(String id, String name) {}

  static List<ClassEntry> readClasses(Path file) throws IOException {
    JsonElement json = parse(file);
    List<ClassEntry> classes = new ArrayList<>();
    if (json.isJsonArray()) {
      JsonArray array = json.getAsJsonArray();
      for (int i = 0; i < array.size(); i++) {
        String name = string(array.get(i), file, "entry " + i);
        classes.add(new ClassEntry(name, name));
      }
    } else if (json.isJsonObject()) {
      for (Map.Entry<String, JsonElement> e : json.getAsJsonObject().entrySet()) {
        classes.add(new ClassEntry(e.getKey(), string(e.getValue(), file, "key " + e.getKey())));
      }
    } else {
      throw new IllegalArgumentException(
          file + ": expected an array of class names or an object from class id to name");
    }
    if (classes.isEmpty()) {
      throw new IllegalArgumentException(file + ": the class list is empty");
    }
    return classes;
  }

  static List<String> readTemplates(Path file) throws IOException {
    JsonElement json = parse(file);
    if (!json.isJsonArray()) {
      throw new IllegalArgumentException(file + ": expected an array of prompt templates");
    }
    List<String> templates = new ArrayList<>();
    JsonArray array = json.getAsJsonArray();
    for (int i = 0; i < array.size(); i++) {
      templates.add(string(array.get(i), file, "entry " + i));
    }
    return templates;
  }

  static JsonObject parseObject(String line, String where) {
    try {
      JsonElement e = JsonParser.parseString(line);
      if (!e.isJsonObject()) {
        throw new IllegalArgumentException(where + ": expected a JSON object");
      }
      return e.getAsJsonObject();
    } catch (JsonParseException e) {
      throw new IllegalArgumentException(where + ": not valid JSON: " + e.getMessage(), e);
    }
  }

  /**
   * Decodes the image once so that a broken one is skipped and reported here, while the set is
   * read, rather than failing the evaluation later.
   */
  static boolean decodes(ImageRef image, SkippedSampleListener listener) {
    try {
      image.decode();
      return true;
    } catch (IOException e) {
      listener.skipped(image.name(), e.getMessage());
      return false;
    }
  }

  private static JsonElement parse(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("missing evaluation set file " + file);
    }
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return JsonParser.parseReader(r);
    } catch (JsonParseException e) {
      throw new IllegalArgumentException(file + ": not valid JSON: " + e.getMessage(), e);
    }
  }

  private static String string(JsonElement e, Path file, String where) {
    if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
      throw new IllegalArgumentException(file + ", " + where + ": expected a string, got " + e);
    }
    return e.getAsString();
  }
}
