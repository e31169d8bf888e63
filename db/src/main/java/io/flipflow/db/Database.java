package io.flipflow.db;

import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.output.MigrateResult;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Connects to the run record, keeps its schema current with Flyway, and hands out one store per
 * concern; each table has exactly one of them as its writer.
 */
public final class Database {
  private final DataSource dataSource;
  private final String safeUrl;

  private Database(DataSource dataSource, String safeUrl) {
    this.dataSource = dataSource;
    this.safeUrl = safeUrl;
  }

  /** A database reached by JDBC URL; the password is never part of any message. */
  public static Database connect(String jdbcUrl, String user, String password) {
    if (jdbcUrl == null || !jdbcUrl.startsWith("jdbc:postgresql://")) {
      throw new IllegalArgumentException(
          "postgres.url must look like jdbc:postgresql://HOST:PORT/DB, got: " + jdbcUrl);
    }
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(jdbcUrl);
    ds.setUser(user);
    if (password != null && !password.isEmpty()) {
      ds.setPassword(password);
    }
    ds.setConnectTimeout(10);
    ds.setApplicationName("flipflow");
    return new Database(ds, jdbcUrl);
  }

  public static Database of(DataSource dataSource, String description) {
    return new Database(dataSource, description);
  }

  /** Applies pending migrations; running it again on a current schema changes nothing. */
  public MigrateResult migrate() {
    try {
      return Flyway.configure()
          .dataSource(dataSource)
          .locations("classpath:db/migration")
          .load()
          .migrate();
    } catch (FlywayException e) {
      throw new IllegalStateException(
          "cannot migrate PostgreSQL at " + safeUrl + ": " + e.getMessage(), e);
    }
  }

  public Connection connection() throws SQLException {
    try {
      return dataSource.getConnection();
    } catch (SQLException e) {
      throw new SQLException("cannot reach PostgreSQL at " + safeUrl + ": " + e.getMessage(), e);
    }
  }

  public DataSource dataSource() {
    return dataSource;
  }

  public String url() {
    return safeUrl;
  }

  /** {@code runs} and {@code stages}. */
  public RunStore runs() {
    return new RunStore(this);
  }

  /** {@code metrics} and {@code checkpoints}. */
  public TrainingStore training() {
    return new TrainingStore(this);
  }

  /** {@code eval_results}. */
  public EvalStore evaluations() {
    return new EvalStore(this);
  }

  /** {@code data_issues}. */
  public DataIssueStore dataIssues() {
    return new DataIssueStore(this);
  }

  /** {@code studies} and {@code study_runs}. */
  public StudyStore studies() {
    return new StudyStore(this);
  }

  /** Named cluster-wide locks (no table). */
  public Locks locks() {
    return new Locks(this);
  }

  /** {@code benchmarks}. */
  public BenchmarkStore benchmarks() {
    return new BenchmarkStore(this);
  }
}
