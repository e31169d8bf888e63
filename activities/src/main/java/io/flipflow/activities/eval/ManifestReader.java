package io.flipflow.activities.eval;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a classification set described by a manifest, from a local folder holding
 *
 * <ul>
 *   <li>{@code manifest.csv} with a header naming the columns {@code image} and {@code class}
 *       (others ignored), or {@code manifest.jsonl} with one {@code {"image": ..., "class": ...}}
 *       per line;
 *   <li>{@code classes.json} and {@code templates.json} (see {@link EvalSetFiles}).
 * </ul>
 *
 * Image paths are relative to the folder. A {@code class} is a class id from classes.json, else a
 * class name. An unknown class is an error naming the line; a missing or undecodable image is
 * skipped and reported.
 */
public final class ManifestReader {
  private static final Logger LOG = LoggerFactory.getLogger(ManifestReader.class);
  public static final String CSV = "manifest.csv";
  public static final String JSONL = "manifest.jsonl";

  private ManifestReader() {}

  private record Row(String where, String image, String className) {}

  public static ClassificationSet read(String setName, Path dir, SkippedSampleListener listener)
      throws IOException {
    List<EvalSetFiles.ClassEntry> classes =
        EvalSetFiles.readClasses(dir.resolve(EvalSetFiles.CLASSES));
    List<String> templates = EvalSetFiles.readTemplates(dir.resolve(EvalSetFiles.TEMPLATES));
    Map<String, Integer> byId = new HashMap<>();
    Map<String, Integer> byName = new HashMap<>();
    for (int c = 0; c < classes.size(); c++) {
      byId.putIfAbsent(classes.get(c).id(), c);
      byName.putIfAbsent(classes.get(c).name(), c);
    }

    List<Row> rows;
    if (Files.isRegularFile(dir.resolve(CSV))) {
      rows = csvRows(dir.resolve(CSV));
    } else if (Files.isRegularFile(dir.resolve(JSONL))) {
      rows = jsonlRows(dir.resolve(JSONL));
    } else {
      throw new IllegalArgumentException("no " + CSV + " or " + JSONL + " in " + dir);
    }

    List<ClassificationSet.Sample> samples = new ArrayList<>();
    int skipped = 0;
    for (Row row : rows) {
      Integer label = byId.getOrDefault(row.className(), byName.get(row.className()));
      if (label == null) {
        throw new IllegalArgumentException(
            row.where()
                + ": class '"
                + row.className()
                + "' is not in "
                + dir.resolve(EvalSetFiles.CLASSES));
      }
      Path file = dir.resolve(row.image()).normalize();
      if (!file.startsWith(dir.normalize())) {
        throw new IllegalArgumentException(
            row.where() + ": image path '" + row.image() + "' leaves the set's folder");
      }
      if (!Files.isRegularFile(file)) {
        listener.skipped(file.toString(), "file not found (listed at " + row.where() + ")");
        skipped++;
        continue;
      }
      ImageRef image = ImageRef.ofFile(file);
      if (EvalSetFiles.decodes(image, listener)) {
        samples.add(new ClassificationSet.Sample(image, label));
      } else {
        skipped++;
      }
    }
    if (samples.isEmpty()) {
      throw new IllegalArgumentException(
          "evaluation set " + dir + " has no usable image (" + skipped + " skipped)");
    }
    LOG.info(
        "read classification set {} from {}: {} images, {} classes, {} skipped",
        setName,
        dir,
        samples.size(),
        classes.size(),
        skipped);
    return new ClassificationSet(
        setName, classes.stream().map(EvalSetFiles.ClassEntry::name).toList(), templates, samples);
  }

  private static List<Row> csvRows(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    if (lines.isEmpty()) {
      throw new IllegalArgumentException(file + " is empty: expected a header 'image,class'");
    }
    List<String> header = splitCsvLine(lines.get(0), file + " line 1");
    int imageCol = header.indexOf("image");
    int classCol = header.indexOf("class");
    if (imageCol < 0 || classCol < 0) {
      throw new IllegalArgumentException(
          file + " line 1: header must name the columns 'image' and 'class', got " + header);
    }
    List<Row> rows = new ArrayList<>();
    for (int i = 1; i < lines.size(); i++) {
      if (lines.get(i).isBlank()) {
        continue;
      }
      String where = file + " line " + (i + 1);
      List<String> fields = splitCsvLine(lines.get(i), where);
      if (fields.size() <= Math.max(imageCol, classCol)) {
        throw new IllegalArgumentException(where + ": expected columns image and class");
      }
      rows.add(new Row(where, fields.get(imageCol).trim(), fields.get(classCol).trim()));
    }
    return rows;
  }

  private static List<Row> jsonlRows(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).isBlank()) {
        continue;
      }
      String where = file + " line " + (i + 1);
      JsonObject o = EvalSetFiles.parseObject(lines.get(i), where);
      rows.add(new Row(where, field(o, "image", where), field(o, "class", where)));
    }
    return rows;
  }

  private static String field(JsonObject o, String name, String where) {
    JsonElement e = o.get(name);
    if (e == null || !e.isJsonPrimitive()) {
      throw new IllegalArgumentException(where + ": missing field '" + name + "'");
    }
    return e.getAsString();
  }

  /**
   * One line of RFC 4180 CSV (quoted fields, doubled quotes; no line breaks inside fields).
   * Hand-written: it is the only CSV in the module and not worth a dependency.
   */
  static List<String> splitCsvLine(String line, String where) {
    List<String> fields = new ArrayList<>();
    StringBuilder field = new StringBuilder();
    boolean quoted = false;
    for (int i = 0; i < line.length(); i++) {
      char ch = line.charAt(i);
      if (quoted) {
        if (ch == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
          field.append('"');
          i++;
        } else if (ch == '"') {
          quoted = false;
        } else {
          field.append(ch);
        }
      } else if (ch == '"') {
        quoted = true;
      } else if (ch == ',') {
        fields.add(field.toString());
        field.setLength(0);
      } else {
        field.append(ch);
      }
    }
    if (quoted) {
      throw new IllegalArgumentException(where + ": unterminated quoted field");
    }
    fields.add(field.toString());
    return fields;
  }
}
