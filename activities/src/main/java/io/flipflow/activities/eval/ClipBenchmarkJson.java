package io.flipflow.activities.eval;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes results the way LAION's clip_benchmark does: one JSON document per (dataset, task), shaped
 * {@code {dataset, model, pretrained, task, metrics: {...}, language}}. Keys are added, which
 * readers of clip_benchmark's files ignore: {@code split} and {@code inference} (the {@link
 * InferenceView#label()}), as flipflow evaluates seen/unseen splits and masked views separately,
 * and {@code preset}. {@code model} is the checkpoint's name outside flipflow (what {@code flipflow
 * export} calls it), so that these files and CLIP_benchmark's for the exported model ({@code
 * --model local-dir:DIR}) can be put side by side.
 */
public final class ClipBenchmarkJson {
  private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

  private ClipBenchmarkJson() {}

  /** A group of results that becomes one document. */
  public record Key(String dataset, String split, String task, String inference) {}

  /**
   * One document per (dataset, split, task, inference), in first-seen order.
   *
   * @param model the model's name, e.g. {@code flipflow-tiny-emoji-RUN-pretrain-step400} (a
   *     checkpoint's {@code CheckpointState.modelName()}) or the preset name
   * @param pretrained the weights, e.g. the checkpoint URI
   * @param language the captions' and prompts' language, e.g. {@code en}
   */
  public static Map<Key, JsonObject> documents(
      List<EvalResult> results, String model, String pretrained, String language) {
    return documents(results, model, null, pretrained, language);
  }

  /** As {@link #documents(List, String, String, String)}, naming the preset too (when not null). */
  public static Map<Key, JsonObject> documents(
      List<EvalResult> results, String model, String preset, String pretrained, String language) {
    Map<Key, JsonObject> docs = new LinkedHashMap<>();
    for (EvalResult r : results) {
      Key key = new Key(r.dataset(), r.split(), r.task(), r.inference());
      JsonObject doc =
          docs.computeIfAbsent(
              key,
              k -> {
                JsonObject o = new JsonObject();
                o.addProperty("dataset", k.dataset());
                o.addProperty("model", model);
                o.addProperty("pretrained", pretrained);
                o.addProperty("task", k.task());
                o.add("metrics", new JsonObject());
                o.addProperty("language", language);
                o.addProperty("split", k.split());
                o.addProperty("inference", k.inference());
                if (preset != null) {
                  o.addProperty("preset", preset);
                }
                return o;
              });
      if (!Double.isFinite(r.value())) {
        throw new IllegalArgumentException(
            "metric " + r.metric() + " of " + key + " is not a finite number: " + r.value());
      }
      doc.getAsJsonObject("metrics").addProperty(r.metric(), r.value());
    }
    return docs;
  }

  public static String toJson(JsonObject document) {
    return GSON.toJson(document);
  }

  /**
   * Writes each document to {@code dir} as {@code <dataset>_<split>_<task>_<inference>.json}
   * (characters other than letters, digits, {@code . - _} replaced by {@code _}).
   *
   * @return the files written
   */
  public static List<Path> write(
      Path dir, List<EvalResult> results, String model, String pretrained, String language)
      throws IOException {
    return write(dir, results, model, null, pretrained, language);
  }

  /** As {@link #write(Path, List, String, String, String)}, naming the preset too. */
  public static List<Path> write(
      Path dir,
      List<EvalResult> results,
      String model,
      String preset,
      String pretrained,
      String language)
      throws IOException {
    Files.createDirectories(dir);
    List<Path> written = new ArrayList<>();
    for (Map.Entry<Key, JsonObject> e :
        documents(results, model, preset, pretrained, language).entrySet()) {
      Key k = e.getKey();
      String fileName =
          String.join(
                  "_",
                  Objects.toString(k.dataset()),
                  Objects.toString(k.split()),
                  k.task(),
                  k.inference())
              .replaceAll("[^A-Za-z0-9._-]", "_");
      Path file = dir.resolve(fileName + ".json");
      Files.writeString(file, toJson(e.getValue()), StandardCharsets.UTF_8);
      written.add(file);
    }
    return written;
  }
}
