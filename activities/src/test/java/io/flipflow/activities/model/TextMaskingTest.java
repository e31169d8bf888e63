package io.flipflow.activities.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** FLIP's text masking (Table 1c): which positions survive, and what the text tower then sees. */
class TextMaskingTest {
  /** Captions of context 8: 4 and 3 real tokens (the last of each is end of text), then padding. */
  private static final int[][] CAPTIONS = {{5, 9, 7, 3, 0, 0, 0, 0}, {6, 8, 3, 0, 0, 0, 0, 0}};

  private static final long[] POOLED = {3, 2};

  @Test
  void everyRowKeepsItsShareInOrderAndAlwaysThePooledPosition() {
    for (String mode : TextMasking.MODES) {
      for (long seed = 0; seed < 50; seed++) {
        TextMasking.Masked m = TextMasking.sample(CAPTIONS, POOLED, 0.5, mode, new Random(seed));
        for (int b = 0; b < CAPTIONS.length; b++) {
          long[] positions = m.positions()[b];
          assertEquals(4, positions.length, "8 - round(8 * 0.5) positions");
          long[] sorted = positions.clone();
          Arrays.sort(sorted);
          assertArrayEquals(sorted, positions, "in order");
          long pooled = POOLED[b];
          assertTrue(Arrays.stream(positions).anyMatch(p -> p == pooled), "end of text kept");
          for (int k = 0; k < positions.length; k++) {
            assertEquals(CAPTIONS[b][(int) positions[k]], m.tokens()[b][k], "its own token");
          }
        }
      }
    }
  }

  @Test
  void prioritizedDropsPaddingFirstAndRandomDropsText() {
    TextMasking.Masked prioritized =
        TextMasking.sample(CAPTIONS, POOLED, 0.5, TextMasking.PRIORITIZED, new Random(1));
    assertArrayEquals(new int[] {5, 9, 7, 3}, prioritized.tokens()[0], "4 of 4 pads dropped");
    assertArrayEquals(new long[] {0, 1, 2}, Arrays.copyOf(prioritized.positions()[1], 3));
    int textDropped = 0;
    for (long seed = 0; seed < 50; seed++) {
      TextMasking.Masked random =
          TextMasking.sample(CAPTIONS, POOLED, 0.5, TextMasking.RANDOM, new Random(seed));
      textDropped += 4 - (int) Arrays.stream(random.tokens()[0]).filter(t -> t != 0).count();
    }
    assertTrue(textDropped > 50, "random masking drops real tokens too, " + textDropped);
    assertThrows(
        IllegalArgumentException.class,
        () -> TextMasking.sample(CAPTIONS, POOLED, 1.0, TextMasking.RANDOM, new Random(0)));
  }

  /**
   * Under the causal mask the end-of-text position sees only what comes before it, so dropping
   * padding after it changes nothing (why prioritized masking costs the paper only 0.4 points),
   * while dropping words changes the embedding: the tower is trained on what is kept.
   */
  @Test
  void theTextTowerSeesOnlyTheKeptTokensAtTheirOwnPositions() {
    ModelPreset preset = TestPresets.micro();
    try (NDManager root = NDManager.newBaseManager();
        ClipModel model = ClipModel.create(preset, root, 4);
        NDManager step = root.newSubManager()) {
      NDArray images = step.randomNormal(new Shape(2, 3, 32, 32));
      NDArray tokens =
          step.create(
              Arrays.stream(CAPTIONS).flatMapToInt(Arrays::stream).toArray(), new Shape(2, 8));
      assertArrayEquals(POOLED, model.textPoolPositions(tokens));
      float[] whole = model.trainingEmbeddings(images, tokens, null, null).get(1).toFloatArray();

      NDList padding =
          TextMasking.apply(tokens, POOLED, 0.5, TextMasking.PRIORITIZED, new Random(3), step);
      assertEquals(new Shape(2, 4), padding.get(0).getShape());
      float[] withoutPadding =
          model
              .trainingEmbeddings(images, padding.get(0), padding.get(1), null)
              .get(1)
              .toFloatArray();
      assertArrayEquals(whole, withoutPadding, 1e-5f, "padding after end of text changes nothing");

      NDList words =
          TextMasking.apply(tokens, POOLED, 0.75, TextMasking.PRIORITIZED, new Random(3), step);
      float[] withoutWords =
          model.trainingEmbeddings(images, words.get(0), words.get(1), null).get(1).toFloatArray();
      float largest = 0;
      for (int i = 0; i < whole.length; i++) {
        largest = Math.max(largest, Math.abs(whole[i] - withoutWords[i]));
      }
      assertTrue(largest > 1e-3f, "2 of 8 positions kept: words are gone, diff " + largest);
    }
  }
}
