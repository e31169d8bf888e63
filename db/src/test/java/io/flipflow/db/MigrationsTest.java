package io.flipflow.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MigrationsTest {
  static PostgresFixture pg;

  @BeforeAll
  static void start() {
    pg = PostgresFixture.start();
  }

  @AfterAll
  static void stop() throws Exception {
    pg.close();
  }

  @Test
  void migrationsApplyToAnEmptyDatabaseAndAreIdempotent() throws SQLException {
    MigrateResult first = pg.database().migrate();
    MigrateResult second = pg.database().migrate();
    assertTrue(first.migrationsExecuted >= 1 || second.migrationsExecuted == 0);
    assertEquals(0, second.migrationsExecuted, "a second migrate must change nothing");
    try (Connection c = pg.database().connection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")) {
      List<String> tables = new java.util.ArrayList<>();
      while (rs.next()) {
        tables.add(rs.getString(1));
      }
      for (String t :
          List.of(
              "studies",
              "runs",
              "stages",
              "metrics",
              "checkpoints",
              "eval_results",
              "data_issues")) {
        assertTrue(tables.contains(t), "missing table " + t + " in " + tables);
      }
    }
  }

  @Test
  void writesAreIdempotentUnderRetry() throws SQLException {
    pg.database().migrate();
    RunStore runs = pg.database().runs();
    TrainingStore store = pg.database().training();
    RunStore.RunRow run =
        new RunStore.RunRow(
            "run-idem",
            "r1",
            null,
            "idem",
            "tiny-emoji",
            64,
            0.5,
            32,
            1000L,
            "s3://b/p/",
            true,
            7,
            "cpu",
            "{}",
            "f1");
    runs.upsertRun(run);
    runs.upsertRun(run);
    RunStore.StageRow stage =
        new RunStore.StageRow("run-idem", "pretrain", "RUNNING", 1000, null, null, null, null);
    runs.upsertStage(stage);
    runs.upsertStage(stage);
    List<TrainingStore.MetricRow> batch =
        List.of(
            new TrainingStore.MetricRow(
                "run-idem", "pretrain", 10, 320, 3.2, 14.3, 1e-3, 50, 600, 6),
            new TrainingStore.MetricRow(
                "run-idem", "pretrain", 20, 640, 3.0, 14.4, 1e-3, 50, 600, 12));
    assertEquals(2, store.appendMetrics(batch));
    assertEquals(0, store.appendMetrics(batch), "a retried batch must insert nothing");
    assertEquals(2, pg.countForRun("metrics", "run-idem"));
    assertEquals(1, pg.countForRun("stages", "run-idem"));
    store.recordCheckpoint(
        new TrainingStore.CheckpointRow(
            "run-idem", "pretrain", 20, 640, "s3://b/c/20", 10, "ab", false, "f1", 1));
    store.recordCheckpoint(
        new TrainingStore.CheckpointRow(
            "run-idem", "pretrain", 20, 640, "s3://b/c/20", 10, "ab", true, "f1", 1));
    assertEquals(1, pg.countForRun("checkpoints", "run-idem"));
    assertEquals(20, store.checkpoints("run-idem", "pretrain", null).get(0).step());
  }

  @Test
  void readerRoleCanReadButNotWrite() throws SQLException {
    pg.database().migrate();
    try (Connection c = pg.database().connection();
        Statement s = c.createStatement()) {
      s.execute("DROP ROLE IF EXISTS test_analyst");
      s.execute("CREATE ROLE test_analyst LOGIN IN ROLE flipflow_reader");
      s.execute("SET ROLE test_analyst");
      try (ResultSet rs = s.executeQuery("SELECT count(*) FROM runs")) {
        assertTrue(rs.next());
      }
      SQLException denied =
          assertThrows(
              SQLException.class,
              () ->
                  s.execute(
                      "INSERT INTO data_issues (dataset_uri, shard, sample_key, reason)"
                          + " VALUES ('a','b','c','d')"));
      assertTrue(denied.getMessage().contains("permission denied"), denied.getMessage());
      s.execute("RESET ROLE");
    }
  }

  @Test
  void workerRoleUpsertsTheRecordButCannotDeleteOrChangeTheSchema() throws SQLException {
    pg.database().migrate();
    try (Connection c = pg.database().connection();
        Statement s = c.createStatement()) {
      s.execute("DROP ROLE IF EXISTS test_worker");
      s.execute("CREATE ROLE test_worker LOGIN IN ROLE flipflow_worker");
      s.execute("SET ROLE test_worker");
      s.execute(
          "INSERT INTO data_issues (dataset_uri, shard, sample_key, reason)"
              + " VALUES ('s3://w/', '0.tar', 'k', 'empty caption')"
              + " ON CONFLICT (dataset_uri, shard, sample_key) DO UPDATE SET reason = EXCLUDED.reason");
      for (String forbidden :
          List.of(
              "DELETE FROM data_issues",
              "DROP TABLE metrics",
              "ALTER TABLE runs ADD COLUMN x INT",
              "TRUNCATE metrics")) {
        SQLException denied = assertThrows(SQLException.class, () -> s.execute(forbidden));
        assertTrue(
            denied.getMessage().contains("permission denied")
                || denied.getMessage().contains("must be owner"),
            forbidden + ": " + denied.getMessage());
      }
      s.execute("RESET ROLE");
    }
  }
}
