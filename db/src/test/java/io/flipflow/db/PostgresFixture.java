package io.flipflow.db;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.PostgreSQLContainer;

/**
 * A PostgreSQL for tests: a Testcontainers one where a Docker engine answers, otherwise embedded
 * PostgreSQL (zonky) on 127.0.0.1. Both run the real server; the embedded one is what runs here.
 */
public final class PostgresFixture implements AutoCloseable {
  private final EmbeddedPostgres embedded;
  private final PostgreSQLContainer<?> container;
  private final Database database;
  private final String jdbcUrl;
  private final String user;
  private final String password;

  private PostgresFixture(EmbeddedPostgres embedded, PostgreSQLContainer<?> container) {
    this.embedded = embedded;
    this.container = container;
    this.jdbcUrl =
        container != null
            ? container.getJdbcUrl()
            : "jdbc:postgresql://127.0.0.1:" + embedded.getPort() + "/postgres";
    this.user = container != null ? container.getUsername() : "postgres";
    this.password = container != null ? container.getPassword() : "";
    this.database = Database.connect(jdbcUrl, user, password);
  }

  public static PostgresFixture start() {
    if (dockerAvailable()) {
      PostgreSQLContainer<?> c = new PostgreSQLContainer<>("postgres:18");
      c.start();
      return new PostgresFixture(null, c);
    }
    System.out.println(
        "[PostgresFixture] no Docker engine here: using embedded PostgreSQL on 127.0.0.1"
            + " instead of Testcontainers");
    try {
      Path dir = Files.createTempDirectory("flipflow-pg-test");
      EmbeddedPostgres pg =
          EmbeddedPostgres.builder()
              .setDataDirectory(dir)
              .setCleanDataDirectory(true)
              .setServerConfig("listen_addresses", "127.0.0.1")
              .start();
      return new PostgresFixture(pg, null);
    } catch (IOException e) {
      throw new IllegalStateException("embedded PostgreSQL did not start: " + e.getMessage(), e);
    }
  }

  /** Docker counts only if an engine answers; a CLI without an engine (this machine) does not. */
  public static boolean dockerAvailable() {
    boolean socket = Files.exists(Path.of("/var/run/docker.sock"));
    if (!socket && System.getenv("DOCKER_HOST") == null) {
      return false;
    }
    try {
      return DockerClientFactory.instance().isDockerAvailable();
    } catch (RuntimeException e) {
      return false;
    }
  }

  public Database database() {
    return database;
  }

  /** A database of its own on this server, e.g. with other pool settings; the caller closes it. */
  public Database connect(Database.Settings settings) {
    return Database.connect(jdbcUrl, user, password, settings);
  }

  /** A plain driver connection outside any pool and without timeouts, as a second client. */
  public java.sql.Connection plainConnection() throws java.sql.SQLException {
    java.util.Properties p = new java.util.Properties();
    p.setProperty("user", user);
    if (!password.isEmpty()) {
      p.setProperty("password", password);
    }
    return new org.postgresql.Driver().connect(jdbcUrl, p);
  }

  public String jdbcUrl() {
    return jdbcUrl;
  }

  public String user() {
    return user;
  }

  public String password() {
    return password;
  }

  /** Rows of a per-run table for one run: the tests' independent count of what was written. */
  public long countForRun(String table, String workflowId) throws java.sql.SQLException {
    if (!java.util.List.of("metrics", "stages", "checkpoints", "eval_results").contains(table)) {
      throw new IllegalArgumentException("not a per-run table: " + table);
    }
    try (java.sql.Connection c = database.connection();
        java.sql.PreparedStatement ps =
            c.prepareStatement("SELECT count(*) FROM " + table + " WHERE run_id = ?")) {
      ps.setString(1, workflowId);
      try (java.sql.ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  public boolean isEmbedded() {
    return embedded != null;
  }

  @Override
  public void close() throws IOException {
    database.close();
    if (embedded != null) {
      embedded.close();
    }
    if (container != null) {
      container.stop();
    }
  }
}
