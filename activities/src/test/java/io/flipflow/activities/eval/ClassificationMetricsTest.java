package io.flipflow.activities.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ClassificationMetricsTest {
  private static final float S = (float) Math.sqrt(0.5);

  /** Four classes on the unit circle; classes 2 and 3 have no sample. */
  @Test
  void hand_made_embeddings_with_ties_and_empty_classes() {
    float[][] classes = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
    float[][] images = {
      {1, 0}, // label 0: hit
      {0.6f, 0.8f}, // label 1: hit
      {S, S}, // label 1: tie with class 0, which has the lower index and wins: miss
      {S, S}, // label 0: same tie, now in its favour: hit
      {0, 1}, // label 0: class 1 wins (miss); class 0 ties class 2 and ranks before it
    };
    int[] labels = {0, 1, 1, 0, 0};

    ClassificationMetrics m = ClassificationMetrics.compute(images, labels, classes);

    assertEquals(3.0 / 5, m.acc1(), 1e-12);
    assertEquals(1.0, m.acc5(), 1e-12, "k is capped at the 4 classes, so every sample hits");
    // class 0: 2 of 3, class 1: 1 of 2; classes 2 and 3 have no sample and are left out
    assertEquals((2.0 / 3 + 1.0 / 2) / 2, m.meanPerClassRecall(), 1e-12);
    assertEquals(2, m.classesWithSamples());
    assertEquals(List.of("acc1", "acc5", "mean_per_class_recall"), List.copyOf(m.asMap().keySet()));
  }

  @Test
  void acc5_misses_a_label_ranked_sixth() {
    float[][] classes = new float[7][7];
    for (int c = 0; c < 7; c++) {
      classes[c][c] = 1;
    }
    float[] image = Embeddings.l2Normalize(new float[] {7, 6, 5, 4, 3, 2, 1});
    ClassificationMetrics fifth =
        ClassificationMetrics.compute(new float[][] {image}, new int[] {4}, classes);
    ClassificationMetrics sixth =
        ClassificationMetrics.compute(new float[][] {image}, new int[] {5}, classes);
    assertEquals(1.0, fifth.acc5());
    assertEquals(0.0, fifth.acc1());
    assertEquals(0.0, sixth.acc5());
  }

  @Test
  void a_label_outside_the_class_list_is_named() {
    float[][] classes = {{1, 0}, {0, 1}};
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ClassificationMetrics.compute(
                    new float[][] {{1, 0}, {0, 1}}, new int[] {0, 7}, classes));
    assertTrue(e.getMessage().contains("sample 1") && e.getMessage().contains("label 7"));
  }

  @Test
  void an_empty_set_is_a_clear_error() {
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ClassificationMetrics.compute(new float[0][], new int[0], new float[][] {{1}}));
    assertTrue(e.getMessage().contains("empty"), e.getMessage());
  }

  @Test
  void a_set_whose_labels_do_not_fit_its_classes_names_the_image() {
    ImageRef image = ImageRef.ofBytes("shard.tar!0007.png", new byte[0]);
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new ClassificationSet(
                    "emoji-subgroup",
                    List.of("mammals", "birds"),
                    List.of("an emoji of {c}"),
                    List.of(new ClassificationSet.Sample(image, 2))));
    assertTrue(e.getMessage().contains("shard.tar!0007.png"), e.getMessage());
    var empty =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new ClassificationSet(
                    "emoji-subgroup", List.of("mammals"), List.of("an emoji of {c}"), List.of()));
    assertTrue(empty.getMessage().contains("has no samples"), empty.getMessage());
    var noPlaceholder =
        assertThrows(
            IllegalArgumentException.class, () -> ClassificationSet.fill("an emoji", "mammals"));
    assertTrue(noPlaceholder.getMessage().contains("'an emoji'"));
  }
}
