package io.flipflow.activities.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TemplateAveragingTest {

  /** Returns fixed, deliberately unnormalised vectors per prompt and records the batches. */
  static final class TableEncoder implements ImageTextEncoder {
    final Map<String, float[]> table;
    final List<List<String>> batches = new ArrayList<>();

    TableEncoder(Map<String, float[]> table) {
      this.table = table;
    }

    @Override
    public int imageSize() {
      return 1;
    }

    @Override
    public float[][] encodeImages(List<byte[]> images, double maskRatio, long seed) {
      throw new UnsupportedOperationException();
    }

    @Override
    public float[][] encodeTexts(List<String> texts) {
      batches.add(List.copyOf(texts));
      return texts.stream().map(table::get).toArray(float[][]::new);
    }
  }

  @Test
  void class_embedding_is_the_normalised_mean_of_normalised_prompt_embeddings() {
    TableEncoder encoder =
        new TableEncoder(
            Map.of(
                "a cat", new float[] {3, 4, 0},
                "the cat", new float[] {0, 0, 2},
                "a dog", new float[] {1, 0, 0},
                "the dog", new float[] {5, 0, 0}));
    ZeroShotEvaluator evaluator = new ZeroShotEvaluator(encoder, 3);

    float[][] classes =
        evaluator.classEmbeddings(List.of("cat", "dog"), List.of("a {c}", "the {c}"));

    // by hand: cat = normalise(((0.6, 0.8, 0) + (0, 0, 1)) / 2) = (0.3, 0.4, 0.5) / sqrt(0.5)
    double n = Math.sqrt(0.5);
    assertArrayEquals(
        new float[] {(float) (0.3 / n), (float) (0.4 / n), (float) (0.5 / n)}, classes[0], 1e-6f);
    // dog: both prompts point the same way; their lengths (1 vs 5) must not matter
    assertArrayEquals(new float[] {1, 0, 0}, classes[1], 1e-6f);
    // four prompts in batches of at most 3, class-major order
    assertEquals(
        List.of(List.of("a cat", "the cat", "a dog"), List.of("the dog")), encoder.batches);
  }
}
