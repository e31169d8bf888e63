package io.flipflow.db;

import java.sql.SQLException;
import java.util.List;

/**
 * Table {@code data_issues}: samples and shards skipped while staging or evaluating, with the
 * reason. Both stages report through this one writer.
 */
public final class DataIssueStore {
  private final Database db;

  DataIssueStore(Database db) {
    this.db = db;
  }

  /**
   * @param sampleKey the sample's key, or "" when a whole shard (or its rest) was lost
   * @param workflowId the run that found it, null when none
   */
  public record DataIssueRow(
      String datasetUri, String shard, String sampleKey, String reason, String workflowId) {}

  public void record(List<DataIssueRow> rows) throws SQLException {
    Sql.batch(
        db,
        """
        INSERT INTO data_issues (dataset_uri, shard, sample_key, reason, run_id)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (dataset_uri, shard, sample_key) DO UPDATE SET reason = EXCLUDED.reason
        """,
        rows,
        r -> new Object[] {r.datasetUri(), r.shard(), r.sampleKey(), r.reason(), r.workflowId()});
  }
}
