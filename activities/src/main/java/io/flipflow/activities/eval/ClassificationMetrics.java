package io.flipflow.activities.eval;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Zero-shot classification metrics under clip_benchmark's names.
 *
 * <p>Ties: classes are ranked by cosine similarity, highest first, equal scores ordered by lower
 * class index (what a stable descending sort gives), so a tie between the true class and a
 * lower-indexed class counts as a miss at top-1. A NaN score (a diverged model's embedding) is a
 * miss at every k. {@code acc5} is not applicable (NaN here, left out of {@link #asMap()}, so no
 * row is recorded) with fewer than five classes, where every label is in the top five. {@code
 * mean_per_class_recall} averages recall over the classes that have at least one sample (like
 * sklearn's balanced accuracy, which clip_benchmark uses).
 */
public record ClassificationMetrics(
    double acc1, double acc5, double meanPerClassRecall, int samples, int classesWithSamples) {

  public static final String ACC1 = "acc1";
  public static final String ACC5 = "acc5";
  public static final String MEAN_PER_CLASS_RECALL = "mean_per_class_recall";

  /**
   * @param imageEmbeddings one L2-normalised embedding per sample
   * @param labels the true class index of each sample
   * @param classEmbeddings one L2-normalised embedding per class (see {@link ZeroShotEvaluator})
   */
  public static ClassificationMetrics compute(
      float[][] imageEmbeddings, int[] labels, float[][] classEmbeddings) {
    if (imageEmbeddings.length == 0) {
      throw new IllegalArgumentException("no samples to evaluate: the evaluation set is empty");
    }
    if (classEmbeddings.length == 0) {
      throw new IllegalArgumentException("no classes to evaluate against: the class list is empty");
    }
    if (labels.length != imageEmbeddings.length) {
      throw new IllegalArgumentException(
          "labels has "
              + labels.length
              + " entries but there are "
              + imageEmbeddings.length
              + " image embeddings");
    }
    int classes = classEmbeddings.length;
    int k5 = 5;
    int[] perClassTotal = new int[classes];
    int[] perClassCorrect = new int[classes];
    int top1 = 0;
    int top5 = 0;
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] >= classes) {
        throw new IllegalArgumentException(
            "sample " + i + " has label " + labels[i] + ", outside the " + classes + " classes");
      }
    }
    int[] ranks =
        IntStream.range(0, labels.length)
            .parallel()
            .map(
                i ->
                    Embeddings.rank(
                        Embeddings.scores(imageEmbeddings[i], classEmbeddings), labels[i]))
            .toArray();
    for (int i = 0; i < labels.length; i++) {
      int label = labels[i];
      int rank = ranks[i];
      perClassTotal[label]++;
      if (rank == 0) {
        top1++;
        perClassCorrect[label]++;
      }
      if (rank < k5) {
        top5++;
      }
    }
    double recallSum = 0;
    int present = 0;
    for (int c = 0; c < classes; c++) {
      if (perClassTotal[c] > 0) {
        recallSum += (double) perClassCorrect[c] / perClassTotal[c];
        present++;
      }
    }
    int n = labels.length;
    return new ClassificationMetrics(
        (double) top1 / n,
        classes < k5 ? Double.NaN : (double) top5 / n,
        recallSum / present,
        n,
        present);
  }

  /** Whether top-5 says anything: with fewer than five classes every label is in the top five. */
  public boolean acc5Applicable() {
    return !Double.isNaN(acc5);
  }

  /** The metrics as clip_benchmark names them, in its order. */
  public Map<String, Double> asMap() {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put(ACC1, acc1);
    if (acc5Applicable()) {
      m.put(ACC5, acc5);
    }
    m.put(MEAN_PER_CLASS_RECALL, meanPerClassRecall);
    return m;
  }
}
