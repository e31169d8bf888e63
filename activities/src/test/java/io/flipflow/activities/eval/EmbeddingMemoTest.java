package io.flipflow.activities.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.Color;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The sets of one evaluation share pictures (the emoji sets: 9,234 images, 3,241 distinct) and
 * captions; each distinct picture and text is embedded once, and every input still gets the
 * embedding it would alone.
 */
class EmbeddingMemoTest {

  private static final Color[] COLOURS = {
    Color.RED,
    Color.GREEN,
    Color.BLUE,
    Color.YELLOW,
    Color.CYAN,
    Color.MAGENTA,
    Color.ORANGE,
    Color.PINK,
    Color.GRAY,
    Color.WHITE,
    Color.BLACK,
    Color.DARK_GRAY
  };

  private static List<ImageRef> images(int... colours) throws Exception {
    List<ImageRef> out = new ArrayList<>();
    for (int i = 0; i < colours.length; i++) {
      out.add(ImageRef.ofBytes("set!" + i + ".png", Fixtures.png(COLOURS[colours[i]], 8)));
    }
    return out;
  }

  private static int embedded(Fixtures.ColourEncoder encoder) {
    return encoder.imageBatchSizes.stream().mapToInt(Integer::intValue).sum();
  }

  @Test
  void eachDistinctPictureIsEmbeddedOnceAcrossTheSetsOfOneEvaluation() throws Exception {
    List<ImageRef> group = images(0, 1, 2, 3, 4, 5, 0, 1); // two repeats inside the set
    List<ImageRef> subgroup = images(3, 4, 5, 6, 7); // three pictures of the first set, two new
    List<InferenceView> full = List.of(InferenceView.full());

    Fixtures.ColourEncoder shared = new Fixtures.ColourEncoder();
    EmbeddingMemo memo = EmbeddingMemo.forOneModel();
    float[][] a = evaluator(shared, memo).encodeImages(group, full).get(0);
    assertEquals(6, embedded(shared), "the set's two repeats are not embedded again");
    float[][] b = evaluator(shared, memo).encodeImages(subgroup, full).get(0);
    assertEquals(8, embedded(shared), "only the second set's two new pictures");
    assertEquals(3, memo.hits(), "the three pictures the first set embedded");

    Fixtures.ColourEncoder alone = new Fixtures.ColourEncoder();
    float[][] aAlone = evaluator(alone, EmbeddingMemo.none()).encodeImages(group, full).get(0);
    float[][] bAlone = evaluator(alone, EmbeddingMemo.none()).encodeImages(subgroup, full).get(0);
    assertEquals(11, embedded(alone), "without a memo each set embeds its own distinct pictures");
    for (int i = 0; i < group.size(); i++) {
      assertArrayEquals(aAlone[i], a[i], "group image " + i);
    }
    for (int i = 0; i < subgroup.size(); i++) {
      assertArrayEquals(bAlone[i], b[i], "subgroup image " + i);
    }
  }

  @Test
  void theMaskedAblationPathFillsTheMemoWithItsFullViewAndKeepsItsOwnMasks() throws Exception {
    Fixtures.ColourEncoder encoder = new Fixtures.ColourEncoder();
    EmbeddingMemo memo = EmbeddingMemo.forOneModel();
    List<ImageRef> unseen = images(0, 1, 2, 3);
    evaluator(encoder, memo)
        .encodeImages(unseen, List.of(InferenceView.full(), InferenceView.masked(0.75, 3)));
    assertEquals(8, embedded(encoder), "full and masked, every image");
    evaluator(encoder, memo).encodeImages(images(0, 1, 2, 3), List.of(InferenceView.full()));
    assertEquals(8, embedded(encoder), "the same pictures in the next set: nothing embedded");
  }

  @Test
  void eachDistinctTextIsEmbeddedOnceAcrossTheSetsOfOneEvaluation() {
    // the two label sets of the emoji data caption the same concepts in two styles
    List<String> google = List.of("red heart", "green apple", "red heart", "blue car");
    List<String> openmoji = List.of("blue car", "red heart", "green leaf");

    Fixtures.ColourEncoder shared = new Fixtures.ColourEncoder();
    EmbeddingMemo memo = EmbeddingMemo.forOneModel();
    float[][] a = evaluator(shared, memo).encodeTexts(google, "captions");
    float[][] b = evaluator(shared, memo).encodeTexts(openmoji, "captions");
    int texts = shared.textBatchSizes.stream().mapToInt(Integer::intValue).sum();
    assertEquals(4, texts, "3 distinct captions, then only green leaf");
    assertEquals(2, memo.hits(), "blue car and red heart of the second set");

    Fixtures.ColourEncoder alone = new Fixtures.ColourEncoder();
    float[][] aAlone = evaluator(alone, EmbeddingMemo.none()).encodeTexts(google, "captions");
    float[][] bAlone = evaluator(alone, EmbeddingMemo.none()).encodeTexts(openmoji, "captions");
    for (int i = 0; i < google.size(); i++) {
      assertArrayEquals(aAlone[i], a[i], "google caption " + i);
    }
    for (int i = 0; i < openmoji.size(); i++) {
      assertArrayEquals(bAlone[i], b[i], "openmoji caption " + i);
    }
  }

  private static ZeroShotEvaluator evaluator(Fixtures.ColourEncoder encoder, EmbeddingMemo memo) {
    return new ZeroShotEvaluator(encoder, 3, ProgressListener.none(), PixelCache.none(), "", memo);
  }
}
