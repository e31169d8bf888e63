package io.flipflow.activities.eval;

/**
 * One measured number, ready for a row of {@code eval_results}.
 *
 * @param task {@code zeroshot_classification} or {@code zeroshot_retrieval} (clip_benchmark's)
 * @param dataset the evaluation set's name
 * @param split e.g. {@code seen} / {@code unseen} concepts, or {@code test}
 * @param inference the {@link InferenceView#label()}: {@code full}, {@code mask0.75}, {@code
 *     mask0.75x8}
 * @param metric clip_benchmark's metric name, e.g. {@code acc1}, {@code text_retrieval_recall@5}
 * @param n how many queries the figure is a fraction of (images classified; captions for
 *     text-to-image {@code image_retrieval_*}, images for {@code text_retrieval_*}): what its
 *     binomial interval is computed from
 */
public record EvalResult(
    String task,
    String dataset,
    String split,
    String inference,
    String metric,
    double value,
    int n) {

  public static final String ZEROSHOT_CLASSIFICATION = "zeroshot_classification";
  public static final String ZEROSHOT_RETRIEVAL = "zeroshot_retrieval";
}
