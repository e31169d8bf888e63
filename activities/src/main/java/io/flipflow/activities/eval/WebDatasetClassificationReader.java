package io.flipflow.activities.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.flipflow.activities.data.webdataset.WdsReader;
import io.flipflow.activities.data.webdataset.WdsSample;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A classification set in WebDataset shards (the layout {@code flipflow data import} writes):
 * {@code classes.json} (names in class order), {@code templates.json}, and per sample an image plus
 * a {@code .json} whose {@code class} is the class index (or {@code class_name} a name).
 */
public final class WebDatasetClassificationReader {
  private WebDatasetClassificationReader() {}

  public static ClassificationSet read(String name, Path dir, SkippedSampleListener listener)
      throws IOException {
    List<String> classes = strings(dir.resolve("classes.json"));
    List<String> templates = strings(dir.resolve("templates.json"));
    List<Path> shards;
    try (Stream<Path> s = Files.list(dir)) {
      shards = s.filter(p -> p.getFileName().toString().endsWith(".tar")).sorted().toList();
    }
    List<ClassificationSet.Sample> samples = new ArrayList<>();
    for (Path shard : shards) {
      try (InputStream in = Files.newInputStream(shard);
          WdsReader reader = new WdsReader(in)) {
        WdsSample s;
        while (true) {
          try {
            s = reader.next();
          } catch (IOException e) {
            listener.skipped(shard.getFileName().toString(), "truncated shard: " + e.getMessage());
            break;
          }
          if (s == null) {
            break;
          }
          String entry = shard.getFileName() + "!" + s.key();
          var image = s.image();
          byte[] meta = s.members().get("json");
          if (image.isEmpty() || meta == null) {
            listener.skipped(entry, image.isEmpty() ? "no image" : "no .json with the class");
            continue;
          }
          int label =
              label(
                  JsonParser.parseString(new String(meta, StandardCharsets.UTF_8)), classes, entry);
          samples.add(
              new ClassificationSet.Sample(
                  ImageRef.ofBytes(entry + "." + image.get().getKey(), image.get().getValue()),
                  label));
        }
      }
    }
    return new ClassificationSet(name, classes, templates, samples);
  }

  private static int label(JsonElement meta, List<String> classes, String entry) {
    JsonObject o = meta.getAsJsonObject();
    if (o.has("class") && o.get("class").getAsJsonPrimitive().isNumber()) {
      return o.get("class").getAsInt();
    }
    if (o.has("class_name")) {
      int i = classes.indexOf(o.get("class_name").getAsString());
      if (i < 0) {
        throw new IllegalArgumentException(
            entry + ": class '" + o.get("class_name").getAsString() + "' is not in classes.json");
      }
      return i;
    }
    throw new IllegalArgumentException(entry + ": its .json names no class");
  }

  private static List<String> strings(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("evaluation set file missing: " + file);
    }
    JsonElement e = JsonParser.parseString(Files.readString(file));
    List<String> out = new ArrayList<>();
    if (e.isJsonArray()) {
      for (JsonElement x : (JsonArray) e) {
        out.add(x.getAsString());
      }
    } else {
      for (Map.Entry<String, JsonElement> x : e.getAsJsonObject().entrySet()) {
        out.add(x.getValue().getAsString());
      }
    }
    return out;
  }
}
