package io.flipflow.activities.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.activities.data.image.ImagePreprocessor;
import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ZeroShotEvaluatorTest {
  private static final Color[] COLOURS = {Color.RED, Color.GREEN, Color.BLUE};
  private static final String[] NAMES = {"red", "green", "blue"};

  private static ClassificationSet colourFolder(Path root) throws Exception {
    Files.writeString(root.resolve("classes.json"), "[\"red\", \"green\", \"blue\"]");
    Files.writeString(root.resolve("templates.json"), "[\"a {c} square\", \"something {c}\"]");
    for (int c = 0; c < 3; c++) {
      for (int i = 0; i < 3; i++) {
        Fixtures.writePng(root.resolve(NAMES[c] + "/" + i + ".png"), COLOURS[c]);
      }
    }
    return ImageFolderReader.read("colours", root, SkippedSampleListener.logging());
  }

  @Test
  void classification_with_full_masked_and_ensemble_views(@TempDir Path root) throws Exception {
    ClassificationSet set = colourFolder(root);
    Fixtures.ColourEncoder encoder = new Fixtures.ColourEncoder();
    List<String> progress = new ArrayList<>();
    ZeroShotEvaluator evaluator =
        new ZeroShotEvaluator(
            encoder, 2, (phase, done, total) -> progress.add(phase + " " + done + "/" + total));

    List<EvalResult> results =
        evaluator.classification(
            set,
            "test",
            List.of(
                InferenceView.full(),
                InferenceView.masked(0.5, 11),
                InferenceView.ensemble(0.5, 4, 11)));

    // acc1 and mean_per_class_recall per view; acc5 does not apply to 3 classes
    assertEquals(6, results.size());
    Map<String, Double> acc1 = new LinkedHashMap<>();
    for (EvalResult r : results) {
      assertEquals("zeroshot_classification", r.task());
      assertEquals("colours", r.dataset());
      assertEquals("test", r.split());
      if (r.metric().equals("acc1")) {
        acc1.put(r.inference(), r.value());
      }
    }
    assertEquals(List.of("full", "mask0.5", "mask0.5x4"), List.copyOf(acc1.keySet()));
    assertEquals(1.0, acc1.get("full"), "pure colours against colour words");
    // 9 images in batches of at most 2, each batch run once full and 4 times masked: the single
    // masked view is the ensemble's first view (same seed), run once for both
    assertTrue(encoder.imageBatchSizes.stream().allMatch(n -> n <= 2));
    assertEquals(5 * (1 + 4), encoder.imageBatchSizes.size());
    assertTrue(encoder.textBatchSizes.stream().allMatch(n -> n <= 2));
    assertEquals("class prompts 6/6", progress.get(2));
    assertEquals("images 9/9", progress.get(progress.size() - 1));
    // each ensemble view of each batch draws its own masks (5 batches x 4 views distinct seeds)
    List<Long> maskedSeeds = new ArrayList<>();
    for (int i = 0; i < encoder.seeds.size(); i++) {
      if (encoder.ratios.get(i) > 0) {
        maskedSeeds.add(encoder.seeds.get(i));
      }
    }
    assertEquals(5 * 4, maskedSeeds.size());
    assertEquals(5 * 4, new HashSet<>(maskedSeeds).size());
  }

  @Test
  void a_masked_view_beside_an_ensemble_equals_the_same_view_alone(@TempDir Path root)
      throws Exception {
    ClassificationSet set = colourFolder(root);
    List<ImageRef> images = set.samples().stream().map(ClassificationSet.Sample::image).toList();
    InferenceView masked = InferenceView.masked(0.5, 11);
    List<float[][]> together =
        new ZeroShotEvaluator(new Fixtures.ColourEncoder(), 2)
            .encodeImages(
                images, List.of(InferenceView.full(), masked, InferenceView.ensemble(0.5, 4, 11)));
    float[][] alone =
        new ZeroShotEvaluator(new Fixtures.ColourEncoder(), 2)
            .encodeImages(images, List.of(masked))
            .get(0);
    float[][] otherSeed =
        new ZeroShotEvaluator(new Fixtures.ColourEncoder(), 2)
            .encodeImages(images, List.of(InferenceView.masked(0.5, 12)))
            .get(0);
    for (int i = 0; i < images.size(); i++) {
      assertArrayEquals(alone[i], together.get(1)[i], "image " + i);
    }
    // the encoder's noise follows the seed, so sharing a forward is visible if it went wrong
    assertTrue(!java.util.Arrays.equals(alone[0], otherSeed[0]));
  }

  @Test
  void ensemble_is_the_normalised_mean_of_its_views(@TempDir Path root) throws Exception {
    ClassificationSet set = colourFolder(root);
    List<ImageRef> images = set.samples().stream().map(ClassificationSet.Sample::image).toList();
    Fixtures.ColourEncoder encoder = new Fixtures.ColourEncoder();
    ZeroShotEvaluator evaluator = new ZeroShotEvaluator(encoder, 4);

    InferenceView ensemble = InferenceView.ensemble(0.75, 3, 5);
    float[][] got = evaluator.encodeImages(images, List.of(ensemble)).get(0);

    // by hand for the first batch (images 0..3): the same three seeded views, averaged
    List<byte[]> pixels = new ArrayList<>();
    for (ImageRef ref : images.subList(0, 4)) {
      pixels.add(new ImagePreprocessor(8).toChw(ref.decode()));
    }
    Fixtures.ColourEncoder reference = new Fixtures.ColourEncoder();
    for (int i = 0; i < 4; i++) {
      List<float[]> views = new ArrayList<>();
      for (int v = 0; v < 3; v++) {
        views.add(reference.encodeImages(pixels, 0.75, ZeroShotEvaluator.viewSeed(5, v, 0))[i]);
      }
      assertArrayEquals(Embeddings.normalizedMeanOfNormalized(views), got[i], 1e-6f);
      assertEquals(1.0, norm(got[i]), 1e-5);
    }
    // and the same seed gives the same embeddings again
    assertArrayEquals(got[8], evaluator.encodeImages(images, List.of(ensemble)).get(0)[8]);
  }

  @Test
  void retrieval_from_shards_with_several_captions(@TempDir Path dir) throws Exception {
    Map<String, byte[]> members = new LinkedHashMap<>();
    for (int c = 0; c < 3; c++) {
      members.put(c + ".png", Fixtures.png(COLOURS[c], 16));
      members.put(c + ".txt", Fixtures.utf8("a " + NAMES[c] + " tile\nplain " + NAMES[c]));
    }
    Fixtures.writeTar(dir.resolve("00000.tar"), members);
    RetrievalSet set =
        WebDatasetRetrievalReader.read("tiles", dir, SkippedSampleListener.logging());

    List<EvalResult> results =
        new ZeroShotEvaluator(new Fixtures.ColourEncoder(), 2)
            .retrieval(set, "seen", List.of(InferenceView.full()));

    assertEquals(6, results.size());
    for (EvalResult r : results) {
      assertEquals("zeroshot_retrieval", r.task());
      // two captions per image embed identically, so text->image is exact; image->text too
      assertEquals(1.0, r.value(), r.metric());
    }
    assertEquals(
        List.of(
            "image_retrieval_recall@1",
            "text_retrieval_recall@1",
            "image_retrieval_recall@5",
            "text_retrieval_recall@5",
            "image_retrieval_recall@10",
            "text_retrieval_recall@10"),
        results.stream().map(EvalResult::metric).toList());
  }

  /** A random model (embeddings from a seeded hash) lands near chance, as the issue expects. */
  @Test
  void a_random_encoder_scores_near_chance() {
    int classes = 10;
    List<ClassificationSet.Sample> samples = new ArrayList<>();
    Random random = new Random(3);
    for (int i = 0; i < 400; i++) {
      samples.add(
          new ClassificationSet.Sample(
              ImageRef.ofBytes("img" + i, new byte[0]), random.nextInt(classes)));
    }
    List<String> names = new ArrayList<>();
    for (int c = 0; c < classes; c++) {
      names.add("class" + c);
    }
    ClassificationSet set = new ClassificationSet("random", names, List.of("{c}"), samples);
    float[][] classEmb =
        new ZeroShotEvaluator(new HashEncoder(), 64).classEmbeddings(names, set.templates());
    float[][] imageEmb = new float[samples.size()][];
    for (int i = 0; i < imageEmb.length; i++) {
      imageEmb[i] = HashEncoder.vector("img" + i);
    }
    int[] labels = samples.stream().mapToInt(ClassificationSet.Sample::label).toArray();
    ClassificationMetrics m = ClassificationMetrics.compute(imageEmb, labels, classEmb);
    assertEquals(0.1, m.acc1(), 0.05, m.toString());
    assertEquals(0.5, m.acc5(), 0.08, m.toString());
  }

  @Test
  void an_encoder_returning_the_wrong_count_is_caught() {
    ImageTextEncoder broken =
        new Fixtures.ColourEncoder() {
          @Override
          public float[][] encodeTexts(List<String> texts) {
            return new float[0][];
          }
        };
    var e =
        assertThrows(
            IllegalStateException.class,
            () -> new ZeroShotEvaluator(broken, 8).encodeTexts(List.of("red"), "captions"));
    assertTrue(e.getMessage().contains("returned 0 embeddings for 1 inputs"), e.getMessage());
  }

  private static double norm(float[] v) {
    double s = 0;
    for (float x : v) {
      s += x * x;
    }
    return Math.sqrt(s);
  }

  /** Random unit vectors keyed by the text: a model that knows nothing. */
  static final class HashEncoder extends Fixtures.ColourEncoder {
    static float[] vector(String key) {
      Random r = new Random(key.hashCode() * 31L + 17);
      float[] v = new float[32];
      for (int d = 0; d < v.length; d++) {
        v[d] = (float) r.nextGaussian();
      }
      return Embeddings.l2Normalize(v);
    }

    @Override
    public float[][] encodeTexts(List<String> texts) {
      return texts.stream().map(HashEncoder::vector).toArray(float[][]::new);
    }
  }
}
