package io.flipflow.db;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.output.MigrateResult;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Connects to the run record, keeps its schema current with Flyway, and hands out one store per
 * concern; each table has exactly one of them as its writer.
 *
 * <p>{@link #connect} gives a pool (HikariCP) whose every connection has a connect, socket,
 * statement and lock timeout, so a hung or locked database ends a call with an {@link SQLException}
 * (which the activities retry) instead of keeping it waiting for hours. Close the database to close
 * the pool.
 */
public final class Database implements AutoCloseable {
  private static final Pattern PASSWORD_IN_URL = Pattern.compile("(?i)([?&;]password=)[^&;#]*");

  private final DataSource dataSource;
  private final DataSource migrationSource;
  private final String safeUrl;
  private final HikariDataSource pool;

  private Database(
      DataSource dataSource, DataSource migrationSource, String safeUrl, HikariDataSource pool) {
    this.dataSource = dataSource;
    this.migrationSource = migrationSource;
    this.safeUrl = safeUrl;
    this.pool = pool;
  }

  /**
   * Pool size and timeouts of {@link #connect}. Every timeout is positive: none of them may be
   * switched off, since each is what ends one way of waiting forever.
   *
   * @param poolSize most connections open at once
   * @param connectTimeout to open a connection and log in (TCP connect, authentication, startup)
   * @param socketTimeout longest wait for any reply from the server; longer than {@code
   *     statementTimeout}, so the server cancels a slow statement first and the connection stays
   *     usable, and it ends the wait when the server does not answer at all
   * @param statementTimeout longest a statement runs ({@code statement_timeout}, SQLState 57014)
   * @param lockTimeout longest a statement waits for a lock ({@code lock_timeout}, SQLState 55P03)
   * @param poolWaitTimeout longest a caller waits for a free connection of the pool
   * @param migrationTimeout statement timeout of the Flyway migrations, which run on their own
   *     connections (an index on a large table may take longer than an upsert); they keep {@code
   *     lockTimeout}, so a migration never queues behind a long transaction and blocks all others
   */
  public record Settings(
      int poolSize,
      Duration connectTimeout,
      Duration socketTimeout,
      Duration statementTimeout,
      Duration lockTimeout,
      Duration poolWaitTimeout,
      Duration migrationTimeout) {
    /** Defaults for short upserts: 10 connections, connect 10 s, statement 30 s, lock 10 s. */
    public static final Settings DEFAULTS =
        new Settings(
            10,
            Duration.ofSeconds(10),
            Duration.ofSeconds(45),
            Duration.ofSeconds(30),
            Duration.ofSeconds(10),
            Duration.ofSeconds(15),
            Duration.ofMinutes(10));

    public Settings {
      if (poolSize < 1) {
        throw new IllegalArgumentException(
            "postgres.pool.size must be at least 1, got " + poolSize);
      }
      requirePositive("postgres.connectTimeout", connectTimeout);
      requirePositive("postgres.socketTimeout", socketTimeout);
      requirePositive("postgres.statementTimeout", statementTimeout);
      requirePositive("postgres.lockTimeout", lockTimeout);
      requirePositive("postgres.pool.waitTimeout", poolWaitTimeout);
      requirePositive("postgres.migrationTimeout", migrationTimeout);
      if (seconds(socketTimeout) * 1000L <= statementTimeout.toMillis()) {
        throw new IllegalArgumentException(
            "postgres.socketTimeout ("
                + socketTimeout.toSeconds()
                + " s) must be longer than postgres.statementTimeout ("
                + statementTimeout.toMillis()
                + " ms): the server should cancel a slow statement before the client drops the"
                + " connection");
      }
      if (poolWaitTimeout.toMillis() < 250) {
        throw new IllegalArgumentException(
            "postgres.pool.waitTimeout must be at least 250 ms, got " + poolWaitTimeout.toMillis());
      }
    }

    private static void requirePositive(String key, Duration d) {
      if (d == null || d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(key + " must be a positive duration, got " + d);
      }
    }
  }

  /** A database reached by JDBC URL with the default {@link Settings}. */
  public static Database connect(String jdbcUrl, String user, String password) {
    return connect(jdbcUrl, user, password, Settings.DEFAULTS);
  }

  /**
   * A pooled database reached by JDBC URL; the password is never part of any message. Nothing is
   * opened until the first connection is asked for.
   */
  public static Database connect(String jdbcUrl, String user, String password, Settings settings) {
    if (jdbcUrl == null || !jdbcUrl.startsWith("jdbc:postgresql://")) {
      throw new IllegalArgumentException(
          "postgres.url must look like jdbc:postgresql://HOST:PORT/DB, got: " + safeUrl(jdbcUrl));
    }
    String safeUrl = safeUrl(jdbcUrl);
    PGSimpleDataSource direct =
        pgDataSource(
            jdbcUrl,
            user,
            password,
            settings.connectTimeout(),
            settings.socketTimeout(),
            settings.statementTimeout(),
            settings.lockTimeout());
    PGSimpleDataSource migrations =
        pgDataSource(
            jdbcUrl,
            user,
            password,
            settings.connectTimeout(),
            settings.migrationTimeout().plus(settings.socketTimeout()),
            settings.migrationTimeout(),
            settings.lockTimeout());

    HikariDataSource pool = new HikariDataSource();
    pool.setPoolName("flipflow-postgres");
    pool.setDataSource(direct);
    pool.setMaximumPoolSize(settings.poolSize());
    // one connection stays open; the others open on demand and close after 10 minutes idle
    pool.setMinimumIdle(1);
    pool.setConnectionTimeout(settings.poolWaitTimeout().toMillis());
    pool.setValidationTimeout(Math.min(5_000, settings.poolWaitTimeout().toMillis()));
    // the pool starts at the first request, and a failure to connect then is that caller's error
    pool.setInitializationFailTimeout(1);
    // a connection Postgres dropped (a restart) is found and replaced while idle
    pool.setKeepaliveTime(Duration.ofSeconds(60).toMillis());
    return new Database(pool, migrations, safeUrl, pool);
  }

  private static PGSimpleDataSource pgDataSource(
      String jdbcUrl,
      String user,
      String password,
      Duration connect,
      Duration socket,
      Duration statement,
      Duration lock) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(jdbcUrl);
    ds.setUser(user);
    if (password != null && !password.isEmpty()) {
      ds.setPassword(password);
    }
    ds.setConnectTimeout(seconds(connect));
    ds.setLoginTimeout(seconds(connect));
    ds.setSocketTimeout(seconds(socket));
    ds.setTcpKeepAlive(true);
    // server settings of every session, after any options= the URL itself gives
    String ours =
        "-c statement_timeout=" + statement.toMillis() + " -c lock_timeout=" + lock.toMillis();
    String given = ds.getOptions();
    ds.setOptions(given == null || given.isBlank() ? ours : given + " " + ours);
    ds.setApplicationName("flipflow");
    return ds;
  }

  /** The driver takes whole seconds; a part second rounds up, so no timeout becomes zero. */
  private static int seconds(Duration d) {
    return (int) Math.max(1, (d.toMillis() + 999) / 1000);
  }

  /**
   * A database over a data source the caller made and owns: {@link #close} leaves it open, and the
   * migrations use it too.
   */
  public static Database of(DataSource dataSource, String description) {
    return new Database(dataSource, dataSource, safeUrl(description), null);
  }

  /** The URL as it may be printed: a {@code password=} parameter in it is masked. */
  public static String safeUrl(String jdbcUrl) {
    return jdbcUrl == null ? null : PASSWORD_IN_URL.matcher(jdbcUrl).replaceAll("$1***");
  }

  /** Applies pending migrations; running it again on a current schema changes nothing. */
  public MigrateResult migrate() {
    try {
      return Flyway.configure()
          .dataSource(migrationSource)
          .locations("classpath:db/migration")
          .load()
          .migrate();
    } catch (FlywayException e) {
      throw new IllegalStateException(
          "cannot migrate PostgreSQL at " + safeUrl + ": " + e.getMessage(), e);
    }
  }

  /**
   * A connection from the pool; close it to hand it back. A database that cannot be reached in the
   * connect and pool-wait timeouts is an {@link SQLException} that keeps the driver's SQLState.
   */
  public Connection connection() throws SQLException {
    try {
      return dataSource.getConnection();
    } catch (SQLException e) {
      String message = "cannot reach PostgreSQL at " + safeUrl + ": " + describe(e);
      throw e instanceof SQLTransientConnectionException
          ? new SQLTransientConnectionException(message, e.getSQLState(), e)
          : new SQLException(message, e.getSQLState(), e);
    }
  }

  /**
   * A connection outside the pool, for session state that must end with it (advisory locks):
   * closing it really closes it. Same server and lock timeout as the pool's.
   */
  Connection unpooledConnection() throws SQLException {
    try {
      return migrationSource.getConnection();
    } catch (SQLException e) {
      throw new SQLException(
          "cannot reach PostgreSQL at " + safeUrl + ": " + describe(e), e.getSQLState(), e);
    }
  }

  /** The message and, where the pool only says it timed out, the driver's reason under it. */
  private static String describe(SQLException e) {
    String message = String.valueOf(e.getMessage());
    Throwable cause = e.getCause();
    if (cause != null && cause.getMessage() != null && !message.contains(cause.getMessage())) {
      message += "; last error: " + cause.getMessage();
    }
    return message;
  }

  public DataSource dataSource() {
    return dataSource;
  }

  public String url() {
    return safeUrl;
  }

  /** Closes the pool of {@link #connect} and every connection in it; idempotent. */
  @Override
  public void close() {
    if (pool != null) {
      pool.close();
    }
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
