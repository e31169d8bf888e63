package io.flipflow.activities.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipBenchmarkJsonTest {
  private static final String CLS = EvalResult.ZEROSHOT_CLASSIFICATION;

  @Test
  void one_clip_benchmark_document_per_dataset_split_task_and_view(@TempDir Path dir)
      throws Exception {
    List<EvalResult> results =
        List.of(
            new EvalResult(CLS, "emoji-subgroup", "unseen", "full", "acc1", 0.25, 578),
            new EvalResult(CLS, "emoji-subgroup", "unseen", "full", "acc5", 0.5, 578),
            new EvalResult(
                CLS, "emoji-subgroup", "unseen", "full", "mean_per_class_recall", 0.2, 578),
            new EvalResult(CLS, "emoji-subgroup", "unseen", "mask0.5x4", "acc1", 0.125, 578),
            new EvalResult(
                EvalResult.ZEROSHOT_RETRIEVAL,
                "emoji-labels",
                "seen",
                "full",
                "image_retrieval_recall@1",
                0.75,
                578));

    List<Path> files = ClipBenchmarkJson.write(dir, results, "vit-tiny-64", "s3://b/ck/9", "en");

    assertEquals(
        List.of(
            "emoji-subgroup_unseen_zeroshot_classification_full.json",
            "emoji-subgroup_unseen_zeroshot_classification_mask0.5x4.json",
            "emoji-labels_seen_zeroshot_retrieval_full.json"),
        files.stream().map(f -> f.getFileName().toString()).toList());
    JsonObject doc = JsonParser.parseString(Files.readString(files.get(0))).getAsJsonObject();
    assertEquals(
        Set.of(
            "dataset", "model", "pretrained", "task", "metrics", "language", "split", "inference"),
        doc.keySet());
    assertEquals("emoji-subgroup", doc.get("dataset").getAsString());
    assertEquals("vit-tiny-64", doc.get("model").getAsString());
    assertEquals("s3://b/ck/9", doc.get("pretrained").getAsString());
    assertEquals("zeroshot_classification", doc.get("task").getAsString());
    assertEquals("en", doc.get("language").getAsString());
    JsonObject metrics = doc.getAsJsonObject("metrics");
    assertEquals(
        List.of("acc1", "acc5", "mean_per_class_recall"),
        metrics.keySet().stream().collect(Collectors.toList()));
    assertEquals(0.25, metrics.get("acc1").getAsDouble());
    assertEquals(0.2, metrics.get("mean_per_class_recall").getAsDouble());
    JsonObject masked = JsonParser.parseString(Files.readString(files.get(1))).getAsJsonObject();
    assertEquals("mask0.5x4", masked.get("inference").getAsString());
    assertEquals(Set.of("acc1"), masked.getAsJsonObject("metrics").keySet());
  }

  @Test
  void a_non_finite_metric_is_refused() {
    var results = List.of(new EvalResult(CLS, "d", "s", "full", "acc1", Double.NaN, 578));
    assertThrows(
        IllegalArgumentException.class, () -> ClipBenchmarkJson.documents(results, "m", "p", "en"));
  }

  @Test
  void inference_view_labels() {
    assertEquals("full", InferenceView.full().label());
    assertEquals("mask0.75", InferenceView.masked(0.75, 1).label());
    assertEquals("mask0.5x8", InferenceView.ensemble(0.5, 8, 1).label());
    assertThrows(IllegalArgumentException.class, () -> InferenceView.masked(1.0, 1));
    assertThrows(IllegalArgumentException.class, () -> new InferenceView(0, 3, 1));
  }
}
