package io.flipflow.activities.data.eval;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.webdataset.ShardSink;
import io.flipflow.activities.data.webdataset.WdsSample;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a zero-shot evaluation set in S3, in the same img2dataset layout as training data so one
 * staging path reads both:
 *
 * <pre>
 * FOLDER/eval.json        {task, dataset, split, count, classes?, templates?}
 * FOLDER/classes.json     ["mammals", ...]            (classification only; index = class id)
 * FOLDER/templates.json   ["an emoji of {c}.", "{c}"] (classification only; {c} = class name)
 * FOLDER/00000.tar ...    KEY.png, KEY.txt (class name, or the caption for retrieval),
 *                         KEY.json ({"class": id, "class_name": ..., ...metadata})
 * FOLDER/sizes.json, 00000_stats.json
 * FOLDER/clip_benchmark/   the same classification set as CLIP_benchmark reads it ({@link
 *                          ClipBenchmarkSetWriter}): --dataset wds/NAME --dataset_root FOLDER/clip_benchmark
 * </pre>
 *
 * The {@code clip_benchmark/} subfolder holds no eval.json, so flipflow's evaluation, which
 * evaluates folders with one, passes it by.
 */
public final class EvalSetWriter {
  public static final String CLASSIFICATION = "zeroshot_classification";
  public static final String RETRIEVAL = "zeroshot_retrieval";
  private static final Gson GSON =
      new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

  /**
   * One evaluation image: its key, PNG bytes, text (class name or caption), class id (-1 for
   * retrieval).
   */
  public record Item(String key, byte[] png, String text, int classId, Map<String, Object> meta) {}

  private EvalSetWriter() {}

  public static long writeClassification(
      S3Store store,
      S3Uri folder,
      String dataset,
      String split,
      List<String> classes,
      List<String> templates,
      List<Item> items,
      int samplesPerShard) {
    for (Item it : items) {
      if (it.classId() < 0 || it.classId() >= classes.size()) {
        throw new IllegalArgumentException(
            "eval item "
                + it.key()
                + " has class "
                + it.classId()
                + " outside 0.."
                + (classes.size() - 1));
      }
    }
    long n = writeShards(store, folder, items, samplesPerShard);
    store.put(
        folder.resolve("classes.json"), GSON.toJson(classes).getBytes(StandardCharsets.UTF_8));
    store.put(
        folder.resolve("templates.json"), GSON.toJson(templates).getBytes(StandardCharsets.UTF_8));
    writeDescriptor(store, folder, CLASSIFICATION, dataset, split, n, true);
    ClipBenchmarkSetWriter.writeClassification(
        store,
        folder.resolve(ClipBenchmarkSetWriter.FOLDER),
        classes,
        templates,
        items,
        samplesPerShard);
    return n;
  }

  public static long writeRetrieval(
      S3Store store,
      S3Uri folder,
      String dataset,
      String split,
      List<Item> items,
      int samplesPerShard) {
    long n = writeShards(store, folder, items, samplesPerShard);
    writeDescriptor(store, folder, RETRIEVAL, dataset, split, n, false);
    return n;
  }

  private static long writeShards(
      S3Store store, S3Uri folder, List<Item> items, int samplesPerShard) {
    try (ShardSink sink = new ShardSink(store, folder, samplesPerShard)) {
      for (Item it : items) {
        Map<String, Object> json = new LinkedHashMap<>(it.meta());
        if (it.classId() >= 0) {
          json.put("class", it.classId());
          json.put("class_name", it.text());
        }
        Map<String, byte[]> members = new LinkedHashMap<>();
        members.put("png", it.png());
        members.put("txt", it.text().getBytes(StandardCharsets.UTF_8));
        members.put("json", GSON.toJson(json).getBytes(StandardCharsets.UTF_8));
        sink.write(new WdsSample(it.key(), members));
      }
      return sink.total();
    }
  }

  private static void writeDescriptor(
      S3Store store,
      S3Uri folder,
      String task,
      String dataset,
      String split,
      long count,
      boolean classes) {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("task", task);
    d.put("dataset", dataset);
    d.put("split", split);
    d.put("count", count);
    if (classes) {
      d.put("classes", "classes.json");
      d.put("templates", "templates.json");
      // how CLIP_benchmark is pointed at the same set: --dataset wds/DATASET --dataset_root FOLDER
      d.put(
          "clip_benchmark",
          Map.of("dataset_root", ClipBenchmarkSetWriter.FOLDER + "/", "dataset", "wds/" + dataset));
    }
    store.put(folder.resolve("eval.json"), GSON.toJson(d).getBytes(StandardCharsets.UTF_8));
  }

  /** A template applied to a class name. */
  public static String prompt(String template, String className) {
    return template.replace("{c}", className);
  }
}
