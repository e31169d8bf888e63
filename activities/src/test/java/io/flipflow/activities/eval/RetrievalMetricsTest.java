package io.flipflow.activities.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class RetrievalMetricsTest {

  /**
   * clip_benchmark: image_retrieval = text queries images; text_retrieval = image queries texts.
   */
  @Test
  void names_follow_clip_benchmark_directions() {
    float[][] images = {{1, 0}, {0, 1}};
    // scores text x image: t0 -> (0.5, 0.1), t1 -> (0.9, 1.0). Every text finds its image, but
    // image 0 ranks t1 (0.9) above its own caption t0 (0.5).
    float[][] texts = {{0.5f, 0.1f}, {0.9f, 1.0f}};
    Map<String, Double> m = RetrievalMetrics.compute(images, texts, new int[] {0, 1}, 1);
    assertEquals(1.0, m.get("image_retrieval_recall@1"));
    assertEquals(0.5, m.get("text_retrieval_recall@1"));
  }

  @Test
  void matches_brute_force_on_random_embeddings() {
    Random random = new Random(42);
    int images = 60;
    int dim = 16;
    float[][] imageEmb = new float[images][];
    List<float[]> textEmb = new ArrayList<>();
    List<Integer> textImage = new ArrayList<>();
    for (int i = 0; i < images; i++) {
      imageEmb[i] = Embeddings.l2Normalize(gaussian(random, dim, 0, null));
      int captions = 1 + random.nextInt(3);
      for (int c = 0; c < captions; c++) {
        textEmb.add(Embeddings.l2Normalize(gaussian(random, dim, 1.2, imageEmb[i])));
        textImage.add(i);
      }
    }
    float[][] texts = textEmb.toArray(float[][]::new);
    int[] index = textImage.stream().mapToInt(Integer::intValue).toArray();
    int[] ks = {1, 5, 10, 1000};

    Map<String, Double> m = RetrievalMetrics.compute(imageEmb, texts, index, ks);

    for (int k : ks) {
      assertEquals(
          bruteForceTextToImage(imageEmb, texts, index, k),
          m.get("image_retrieval_recall@" + k),
          "k=" + k);
      assertEquals(
          bruteForceImageToText(imageEmb, texts, index, k),
          m.get("text_retrieval_recall@" + k),
          "k=" + k);
    }
    double r1 = m.get("text_retrieval_recall@1");
    double r10 = m.get("text_retrieval_recall@10");
    // the noise leaves the task neither trivial nor hopeless, so the comparison means something
    org.junit.jupiter.api.Assertions.assertTrue(r1 > 0.05 && r1 < 0.95 && r10 > r1, m.toString());
    assertEquals(1.0, m.get("image_retrieval_recall@1000"), "k beyond the candidates is capped");
  }

  /** Integer-valued embeddings make many exact ties: the stable tie rule must match sorting. */
  @Test
  void matches_brute_force_with_many_ties() {
    Random random = new Random(7);
    int images = 30;
    float[][] imageEmb = new float[images][3];
    List<float[]> texts = new ArrayList<>();
    List<Integer> textImage = new ArrayList<>();
    for (int i = 0; i < images; i++) {
      for (int d = 0; d < 3; d++) {
        imageEmb[i][d] = random.nextInt(3) - 1;
      }
      for (int c = 0; c < 2; c++) {
        float[] t = new float[3];
        for (int d = 0; d < 3; d++) {
          t[d] = random.nextInt(3) - 1;
        }
        texts.add(t);
        textImage.add(i);
      }
    }
    float[][] t = texts.toArray(float[][]::new);
    int[] index = textImage.stream().mapToInt(Integer::intValue).toArray();
    Map<String, Double> m = RetrievalMetrics.compute(imageEmb, t, index, 1, 5, 10);
    for (int k : new int[] {1, 5, 10}) {
      assertEquals(
          bruteForceTextToImage(imageEmb, t, index, k), m.get("image_retrieval_recall@" + k));
      assertEquals(
          bruteForceImageToText(imageEmb, t, index, k), m.get("text_retrieval_recall@" + k));
    }
  }

  @Test
  void rejects_an_image_without_caption_and_a_dangling_caption() {
    float[][] images = {{1, 0}, {0, 1}};
    assertThrows(
        IllegalArgumentException.class,
        () -> RetrievalMetrics.compute(images, new float[][] {{1, 0}}, new int[] {0}));
    assertThrows(
        IllegalArgumentException.class,
        () -> RetrievalMetrics.compute(images, new float[][] {{1, 0}, {0, 1}}, new int[] {0, 2}));
  }

  private static float[] gaussian(Random random, int dim, double noise, float[] around) {
    float[] v = new float[dim];
    for (int d = 0; d < dim; d++) {
      v[d] =
          (float)
              ((around == null ? 0 : around[d])
                  + (around == null ? 1 : noise)
                      * random.nextGaussian()
                      / Math.sqrt(around == null ? 1 : dim));
    }
    return v;
  }

  /** Sort every candidate (stable, by score descending) and look at the first k. */
  private static List<Integer> topK(float[] query, float[][] candidates, int k) {
    List<Integer> order = new ArrayList<>(IntStream.range(0, candidates.length).boxed().toList());
    float[] s = Embeddings.scores(query, candidates);
    // == and > as in the metric: -0.0 and 0.0 are one score
    order.sort((a, b) -> s[a] == s[b] ? 0 : (s[a] > s[b] ? -1 : 1));
    return order.subList(0, Math.min(k, order.size()));
  }

  private static double bruteForceTextToImage(
      float[][] images, float[][] texts, int[] index, int k) {
    int hits = 0;
    for (int t = 0; t < texts.length; t++) {
      if (topK(texts[t], images, k).contains(index[t])) {
        hits++;
      }
    }
    return (double) hits / texts.length;
  }

  private static double bruteForceImageToText(
      float[][] images, float[][] texts, int[] index, int k) {
    int hits = 0;
    for (int i = 0; i < images.length; i++) {
      final int image = i;
      if (topK(images[i], texts, k).stream().anyMatch(t -> index[t] == image)) {
        hits++;
      }
    }
    return (double) hits / images.length;
  }
}
