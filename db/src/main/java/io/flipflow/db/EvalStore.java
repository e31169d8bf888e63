package io.flipflow.db;

import java.sql.SQLException;
import java.util.List;

/** Table {@code eval_results}, written by the evaluation activity on the gpu queue only. */
public final class EvalStore {
  private final Database db;

  EvalStore(Database db) {
    this.db = db;
  }

  /**
   * One number of one evaluation.
   *
   * @param phase {@code pretrained}, {@code tuned} or {@code adhoc}
   * @param inference {@code full}, or a masked view such as {@code mask0.75x4}
   * @param nSamples the queries {@code value} is a fraction of (for its binomial interval); null
   *     where unknown
   */
  public record EvalRow(
      String workflowId,
      String phase,
      String checkpointUri,
      String task,
      String dataset,
      String split,
      String inference,
      String metric,
      double value,
      Integer nSamples) {}

  /** Upserts by (run, phase, task, dataset, split, inference, metric) in one transaction. */
  public void recordEvalResults(List<EvalRow> rows) throws SQLException {
    Sql.batch(
        db,
        """
        INSERT INTO eval_results (run_id, phase, checkpoint_uri, task, dataset, split,
          inference, metric, value, n_samples)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (run_id, phase, task, dataset, split, inference, metric)
        DO UPDATE SET value = EXCLUDED.value, checkpoint_uri = EXCLUDED.checkpoint_uri,
          n_samples = EXCLUDED.n_samples
        """,
        rows,
        r ->
            new Object[] {
              r.workflowId(),
              r.phase(),
              r.checkpointUri(),
              r.task(),
              r.dataset(),
              r.split(),
              r.inference(),
              r.metric(),
              r.value(),
              r.nSamples()
            });
  }
}
