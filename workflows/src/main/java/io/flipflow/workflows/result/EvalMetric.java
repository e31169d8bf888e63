package io.flipflow.workflows.result;

/**
 * One evaluation number, as in clip_benchmark and the {@code eval_results} table.
 *
 * @param task e.g. {@code zeroshot_classification}, {@code zeroshot_retrieval}
 * @param dataset evaluation set name, e.g. {@code emoji-subgroup}
 * @param split e.g. {@code seen}, {@code unseen}
 * @param metric e.g. {@code acc1}, {@code acc5}, {@code image_retrieval_recall@5}
 * @param value the number, accuracies as fractions in [0, 1]
 */
public record EvalMetric(String task, String dataset, String split, String metric, double value) {
  public static final String TOP1 = "acc1";
}
