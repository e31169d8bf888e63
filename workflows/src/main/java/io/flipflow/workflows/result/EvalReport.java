package io.flipflow.workflows.result;

import java.util.List;

/**
 * What the evaluation activity returns: small metrics inline, the full clip_benchmark-shaped JSON
 * in S3.
 *
 * @param metrics every metric, in the order of the spec's evaluation sets
 * @param resultJsonUri S3 URI of the clip_benchmark-shaped results
 */
public record EvalReport(List<EvalMetric> metrics, String resultJsonUri) {
  public EvalReport {
    metrics = metrics == null ? List.of() : List.copyOf(metrics);
  }

  /**
   * The headline zero-shot top-1: the first {@code acc1} on unseen concepts, else the first {@code
   * acc1}; null when there is none.
   */
  public Double headlineTop1() {
    Double firstTop1 = null;
    for (EvalMetric m : metrics) {
      if (EvalMetric.TOP1.equals(m.metric())) {
        if ("unseen".equals(m.split())) {
          return m.value();
        }
        if (firstTop1 == null) {
          firstTop1 = m.value();
        }
      }
    }
    return firstTop1;
  }
}
