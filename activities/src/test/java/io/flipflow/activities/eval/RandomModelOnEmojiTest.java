package io.flipflow.activities.eval;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.flipflow.activities.data.emoji.EmojiImporter;
import io.flipflow.activities.data.npm.NpmPackages;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.testing.S3Fixture;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An untrained tiny-emoji model through the real evaluation path (emoji import, the set's reader,
 * the model's encoder and tokenizer) scores near chance on the 55-subgroup set: the metrics do not
 * leak the answer. Chance is 1/55 = 1.8%.
 */
class RandomModelOnEmojiTest {
  @TempDir Path dir;

  @Test
  void anUntrainedModelScoresNearChanceOnEmojiSubgroups() throws Exception {
    NpmPackages npm = NpmPackages.defaultCache();
    boolean cached =
        npm.isCached("emoji-datasource-google@16.0.0") && npm.isCached(NpmPackages.EMOJIBASE_DATA);
    if (!cached) {
      System.out.println(
          "skipping: emoji npm packages not in " + npm.cacheDir() + " (.ci/run fetches them)");
    }
    Assumptions.assumeTrue(cached, "emoji npm packages not cached");
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store()) {
      store.createBucket("emoji");
      S3Uri to = S3Uri.parse("s3://emoji/google");
      new EmojiImporter(store, 1000)
          .importStyle("google", EmojiImporter.Sources.fetch(npm, "google"), to);
      S3Uri set = to.resolve("eval/subgroup/unseen/");
      Path local = dir.resolve("set");
      for (S3Store.ObjectInfo o : store.list(set)) {
        store.download(o.uri(), local.resolve(o.uri().fileName()));
      }
      ClassificationSet subgroups =
          WebDatasetClassificationReader.read("emoji-subgroup", local, (e, r) -> {});
      ModelPreset preset = ModelPreset.load("tiny-emoji");
      try (NDManager manager = NDManager.newBaseManager();
          ClipModel model = ClipModel.create(preset, manager, 7);
          CaptionTokenizer tokenizer =
              CaptionTokenizer.load(
                  store.getBytes(to.resolve("tokenizer.json")), preset.contextLength(), "tok")) {
        List<EvalResult> results =
            new ZeroShotEvaluator(new ClipImageTextEncoder(model, tokenizer), 128)
                .classification(subgroups, "unseen", List.of(InferenceView.full()));
        double acc1 = value(results, "acc1");
        double recall = value(results, "mean_per_class_recall");
        System.out.printf(
            "FIGURE random tiny-emoji on %d unseen subgroup images, 55 classes: acc1 %.3f,"
                + " mean per-class recall %.3f (chance 0.018)%n",
            subgroups.samples().size(), acc1, recall);
        assertTrue(
            subgroups.classNames().size() >= 50, "classes: " + subgroups.classNames().size());
        assertTrue(acc1 < 0.08, "an untrained model must not score " + acc1);
        assertTrue(recall < 0.08, "an untrained model must not recall " + recall);
      }
    }
  }

  private static double value(List<EvalResult> results, String metric) {
    return results.stream()
        .filter(r -> r.metric().equals(metric))
        .findFirst()
        .orElseThrow()
        .value();
  }
}
