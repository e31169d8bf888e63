package io.flipflow.activities.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.data.eval.ClipBenchmarkLayoutTest;
import io.flipflow.activities.data.eval.ClipBenchmarkSetWriter;
import io.flipflow.activities.data.eval.EvalSetWriter;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.device.Devices;
import io.flipflow.activities.eval.ClassificationMetrics;
import io.flipflow.activities.eval.ClassificationSet;
import io.flipflow.activities.eval.ClipImageTextEncoder;
import io.flipflow.activities.eval.EvalResult;
import io.flipflow.activities.eval.InferenceView;
import io.flipflow.activities.eval.WebDatasetClassificationReader;
import io.flipflow.activities.eval.ZeroShotEvaluator;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.testing.S3Fixture;
import io.flipflow.activities.train.ClipTrainer;
import io.flipflow.activities.train.SyntheticBatchSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CLIP_benchmark agrees with flipflow (issue 16, item 5): a tiny model exported to OpenCLIP and
 * evaluated by {@code clip_benchmark eval --model local-dir:DIR --dataset wds/NAME} on the
 * CLIP_benchmark copy of a set flipflow wrote, against flipflow's own zero-shot evaluation of the
 * checkpoint on the set itself (RGBA images: the copy is composited as flipflow composites). acc1
 * within 0.5 points end to end; on the same embeddings, clip_benchmark's metric code and flipflow's
 * within 1e-6.
 */
class ClipBenchmarkAgreementTest {
  static final List<String> CLASSES =
      List.of("cat", "dog", "red heart", "sun", "moon", "tree", "house", "smiling face");
  static final List<String> TEMPLATES = List.of("an emoji of {c}.", "{c}");

  @Test
  void clipBenchmarkOnTheExportedModelGivesFlipflowsNumbers(@TempDir Path dir) throws Exception {
    OpenClipPeer.require();
    Path clipBenchmark = OpenClipPeer.PYTHON.resolveSibling("clip_benchmark");
    ModelPreset preset = ModelPreset.load("tiny-emoji");
    List<String> texts = new ArrayList<>();
    CLASSES.forEach(c -> TEMPLATES.forEach(t -> texts.add(EvalSetWriter.prompt(t, c))));
    byte[] tokenizer = WordLevelVocabulary.build(texts);
    Path checkpoint;
    try (ClipTrainer trainer =
        ClipTrainer.create(OpenClipEquivalenceTest.config("tiny-emoji", 0.5, 16, 3), preset)
            .withTokenizer(tokenizer, "test prompts")) {
      checkpoint =
          trainer
              .run(new SyntheticBatchSource(preset, 64), dir.resolve("ckpt"), m -> {}, () -> false)
              .checkpoint();
    }
    Path exported = dir.resolve("flipflow-tiny");
    OpenClipExport.export(checkpoint, exported, null, null);

    Random random = new Random(21);
    List<EvalSetWriter.Item> items = new ArrayList<>();
    for (int i = 0; i < 96; i++) {
      int label = random.nextInt(CLASSES.size());
      items.add(
          new EvalSetWriter.Item(
              String.format("s%03d", i),
              ClipBenchmarkLayoutTest.rgbaPng(64, random),
              CLASSES.get(label),
              label,
              Map.of()));
    }
    Path flipflowSet = dir.resolve("set");
    Path cbRoot = dir.resolve("cb");
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store()) {
      store.createBucket("sets");
      S3Uri folder = S3Uri.parse("s3://sets/eval/shapes/unseen/");
      EvalSetWriter.writeClassification(
          store, folder, "shapes", "unseen", CLASSES, TEMPLATES, items, 40);
      String sub = ClipBenchmarkSetWriter.FOLDER + "/";
      for (S3Store.ObjectInfo o : store.list(folder)) {
        String rest = o.uri().key().substring(folder.prefix().length());
        if (rest.startsWith(sub)) {
          store.download(o.uri(), cbRoot.resolve(rest.substring(sub.length())));
        } else if (!rest.contains("/")) {
          store.download(o.uri(), flipflowSet.resolve(rest));
        }
      }
    }

    // flipflow's own numbers, through the evaluation's code
    Map<String, Double> ours;
    float[][] imageEmbeddings;
    float[][] classEmbeddings;
    int[] labels;
    try (ClipModel model = CheckpointDir.loadModel(checkpoint, Devices.cpu());
        CaptionTokenizer tok = CaptionTokenizer.load(tokenizer, preset.contextLength(), "t")) {
      ZeroShotEvaluator evaluator = new ZeroShotEvaluator(new ClipImageTextEncoder(model, tok), 64);
      ClassificationSet set =
          WebDatasetClassificationReader.read("shapes", flipflowSet, (e, why) -> {});
      assertEquals(96, set.samples().size());
      ours = new LinkedHashMap<>();
      for (EvalResult r : evaluator.classification(set, "unseen", List.of(InferenceView.full()))) {
        ours.put(r.metric(), r.value());
      }
      imageEmbeddings =
          evaluator
              .encodeImages(
                  set.samples().stream().map(ClassificationSet.Sample::image).toList(),
                  List.of(InferenceView.full()))
              .get(0);
      classEmbeddings = evaluator.classEmbeddings(set.classNames(), set.templates());
      labels = set.samples().stream().mapToInt(ClassificationSet.Sample::label).toArray();
    }

    Path output = dir.resolve("clip_benchmark.json");
    List<String> cmd =
        List.of(
            clipBenchmark.toString(),
            "eval",
            "--model",
            "local-dir:" + exported,
            "--pretrained",
            "flipflow",
            "--dataset",
            "wds/shapes",
            "--dataset_root",
            cbRoot.toString(),
            "--task",
            "zeroshot_classification",
            "--no_amp",
            "--num_workers",
            "0",
            "--batch_size",
            "64",
            "--output",
            output.toString());
    Path log = dir.resolve("clip_benchmark.log");
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("HF_HUB_OFFLINE", "1");
    pb.environment().put("TRANSFORMERS_OFFLINE", "1");
    pb.environment().put("OMP_NUM_THREADS", "2");
    Process p = pb.start();
    assertTrue(p.waitFor(15, TimeUnit.MINUTES), "clip_benchmark timed out");
    assertEquals(0, p.exitValue(), "clip_benchmark failed:\n" + Files.readString(log));
    JsonObject theirs = OpenClipPeer.readJson(output).getAsJsonObject("metrics");

    // clip_benchmark's metric code on flipflow's embeddings
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("image", imageEmbeddings);
    e.put("classes", classEmbeddings);
    e.put("labels", labels);
    Path embeddings = dir.resolve("embeddings.json");
    Files.writeString(embeddings, new Gson().toJson(e));
    OpenClipPeer.run(
        dir,
        "metrics",
        "--embeddings",
        embeddings.toString(),
        "--out",
        dir.resolve("m.json").toString());
    JsonObject sameEmbeddings = OpenClipPeer.readJson(dir.resolve("m.json"));
    ClassificationMetrics direct =
        ClassificationMetrics.compute(imageEmbeddings, labels, classEmbeddings);

    for (String metric : List.of("acc1", "acc5", "mean_per_class_recall")) {
      double flip = ours.get(metric);
      double cb = theirs.get(metric).getAsDouble();
      double same = sameEmbeddings.get(metric).getAsDouble();
      System.out.printf(
          Locale.ROOT,
          "%s: flipflow %.6f, clip_benchmark on the export %.6f (diff %.2f points),"
              + " clip_benchmark's metrics on flipflow's embeddings %.9f (diff %.2g)%n",
          metric,
          flip,
          cb,
          100 * Math.abs(flip - cb),
          same,
          Math.abs(flip - same));
      assertEquals(flip, direct.asMap().get(metric), 1e-12);
      assertTrue(Math.abs(flip - cb) <= 0.005, metric + ": flipflow " + flip + " vs " + cb);
      assertTrue(Math.abs(flip - same) <= 1e-6, metric + ": " + flip + " vs " + same);
    }
  }
}
