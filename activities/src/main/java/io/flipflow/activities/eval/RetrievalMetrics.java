package io.flipflow.activities.eval;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Zero-shot retrieval recall@k following clip_benchmark's {@code zeroshot_retrieval.py}:
 *
 * <ul>
 *   <li>{@code image_retrieval_recall@k}: each <em>text</em> queries all images (text->image); a
 *       hit when its image is among the top k; averaged over texts.
 *   <li>{@code text_retrieval_recall@k}: each <em>image</em> queries all texts (image->text); a hit
 *       when any of its captions is among the top k; averaged over images.
 * </ul>
 *
 * Ties are ranked by lower candidate index (a stable sort); k larger than the candidate count is
 * capped at it (every query then hits), where torch.topk would fail.
 */
public final class RetrievalMetrics {
  public static final int[] DEFAULT_KS = {1, 5, 10};

  private RetrievalMetrics() {}

  public static String imageRetrievalName(int k) {
    return "image_retrieval_recall@" + k;
  }

  public static String textRetrievalName(int k) {
    return "text_retrieval_recall@" + k;
  }

  /**
   * @param imageEmbeddings L2-normalised, one per image
   * @param textEmbeddings L2-normalised, one per caption
   * @param textImageIndex for each caption, the index of its image
   * @param ks the k values, e.g. {@link #DEFAULT_KS}
   * @return image_retrieval_recall@k then text_retrieval_recall@k for each k
   */
  public static Map<String, Double> compute(
      float[][] imageEmbeddings, float[][] textEmbeddings, int[] textImageIndex, int... ks) {
    int images = imageEmbeddings.length;
    int texts = textEmbeddings.length;
    if (images == 0 || texts == 0) {
      throw new IllegalArgumentException(
          "retrieval needs images and captions, got " + images + " images, " + texts + " captions");
    }
    if (textImageIndex.length != texts) {
      throw new IllegalArgumentException(
          "textImageIndex has " + textImageIndex.length + " entries for " + texts + " captions");
    }
    int[] captionsPerImage = new int[images];
    for (int t = 0; t < texts; t++) {
      int img = textImageIndex[t];
      if (img < 0 || img >= images) {
        throw new IllegalArgumentException(
            "caption " + t + " points at image " + img + ", outside the " + images + " images");
      }
      captionsPerImage[img]++;
    }
    for (int i = 0; i < images; i++) {
      if (captionsPerImage[i] == 0) {
        throw new IllegalArgumentException("image " + i + " has no caption");
      }
    }

    // Best (lowest) rank of a positive for each query; recall@k is then the share with rank < k.
    // One texts x images score matrix (4 bytes a pair: 5,000 x 1,000 is 20 MB) serves both
    // directions; rows are independent, so they are spread over the cores.
    float[][] scores =
        IntStream.range(0, texts)
            .parallel()
            .mapToObj(t -> Embeddings.scores(textEmbeddings[t], imageEmbeddings))
            .toArray(float[][]::new);
    int[] textQueryRank =
        IntStream.range(0, texts).map(t -> Embeddings.rank(scores[t], textImageIndex[t])).toArray();
    int[][] captionsOf = new int[images][];
    for (int i = 0; i < images; i++) {
      captionsOf[i] = new int[captionsPerImage[i]];
    }
    int[] filled = new int[images];
    for (int t = 0; t < texts; t++) {
      int img = textImageIndex[t];
      captionsOf[img][filled[img]++] = t;
    }
    int[] imageQueryRank =
        IntStream.range(0, images)
            .parallel()
            .map(
                i -> {
                  float[] column = new float[texts];
                  for (int t = 0; t < texts; t++) {
                    column[t] = scores[t][i];
                  }
                  int best = Integer.MAX_VALUE;
                  for (int t : captionsOf[i]) {
                    best = Math.min(best, Embeddings.rank(column, t));
                  }
                  return best;
                })
            .toArray();

    Map<String, Double> metrics = new LinkedHashMap<>();
    for (int k : ks) {
      if (k < 1) {
        throw new IllegalArgumentException("recall@k needs k >= 1, got " + k);
      }
      metrics.put(imageRetrievalName(k), shareBelow(textQueryRank, Math.min(k, images)));
      metrics.put(textRetrievalName(k), shareBelow(imageQueryRank, Math.min(k, texts)));
    }
    return metrics;
  }

  private static double shareBelow(int[] ranks, int k) {
    int hits = 0;
    for (int r : ranks) {
      if (r < k) {
        hits++;
      }
    }
    return (double) hits / ranks.length;
  }
}
