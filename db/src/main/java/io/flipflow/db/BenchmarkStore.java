package io.flipflow.db;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Table {@code benchmarks}: one row per figure of one benchmark run, with the machine. */
public final class BenchmarkStore {
  private final Database db;

  BenchmarkStore(Database db) {
    this.db = db;
  }

  /**
   * Records every finite figure of one run under {@code benchId}; NaN and null figures (a side that
   * did not run) are left out.
   */
  public void record(
      String benchId, String name, String machine, String paramsJson, Map<String, Double> metrics)
      throws SQLException {
    List<Map.Entry<String, Double>> rows = new ArrayList<>();
    for (Map.Entry<String, Double> m : metrics.entrySet()) {
      if (m.getValue() != null && !m.getValue().isNaN()) {
        rows.add(m);
      }
    }
    Sql.batch(
        db,
        "INSERT INTO benchmarks (bench_id, name, machine, params, metric, value)"
            + " VALUES (?, ?, ?, ?::jsonb, ?, ?) ON CONFLICT DO NOTHING",
        rows,
        m -> new Object[] {benchId, name, machine, paramsJson, m.getKey(), m.getValue()});
  }
}
