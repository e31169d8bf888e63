package io.flipflow.activities.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
    // with 4 classes every label is in the top 5: a 1.0 there would say nothing
    assertTrue(Double.isNaN(m.acc5()), "acc5 over 4 classes is not applicable, got " + m.acc5());
    assertFalse(m.acc5Applicable());
    // class 0: 2 of 3, class 1: 1 of 2; classes 2 and 3 have no sample and are left out
    assertEquals((2.0 / 3 + 1.0 / 2) / 2, m.meanPerClassRecall(), 1e-12);
    assertEquals(2, m.classesWithSamples());
    assertEquals(
        List.of("acc1", "mean_per_class_recall"),
        List.copyOf(m.asMap().keySet()),
        "a metric that does not apply is left out of the results, not recorded as a number");
  }

  @Test
  void acc5_applies_from_five_classes() {
    float[][] classes = new float[5][5];
    for (int c = 0; c < 5; c++) {
      classes[c][c] = 1;
    }
    float[] image = Embeddings.l2Normalize(new float[] {5, 4, 3, 2, 1});
    ClassificationMetrics m =
        ClassificationMetrics.compute(new float[][] {image}, new int[] {4}, classes);
    assertTrue(m.acc5Applicable());
    assertEquals(1.0, m.acc5());
    assertEquals(List.of("acc1", "acc5", "mean_per_class_recall"), List.copyOf(m.asMap().keySet()));
  }

  @Test
  void an_all_nan_embedding_is_a_miss_at_every_k() {
    float[][] classes = new float[7][7];
    for (int c = 0; c < 7; c++) {
      classes[c][c] = 1;
    }
    float[] nan = new float[7];
    java.util.Arrays.fill(nan, Float.NaN);
    // label 0 is where a NaN score used to win: nothing beats NaN and no lower index ties it
    ClassificationMetrics m =
        ClassificationMetrics.compute(new float[][] {nan, nan}, new int[] {0, 3}, classes);
    assertEquals(0.0, m.acc1(), "a NaN embedding ranked first");
    assertEquals(0.0, m.acc5());
    assertEquals(7, Embeddings.rank(Embeddings.scores(nan, classes), 0));
  }

  @Test
  void a_nan_class_embedding_never_outranks_a_number() {
    float[][] classes = {{Float.NaN, Float.NaN}, {1, 0}};
    ClassificationMetrics m =
        ClassificationMetrics.compute(new float[][] {{1, 0}}, new int[] {1}, classes);
    assertEquals(1.0, m.acc1());
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
