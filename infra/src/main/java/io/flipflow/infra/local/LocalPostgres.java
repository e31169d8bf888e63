package io.flipflow.infra.local;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Embedded PostgreSQL (zonky) with its data under the state folder, so the run record survives a
 * restart. Creates the {@code flipflow} database and a login analyst in the read-only role.
 */
public final class LocalPostgres implements LocalService {
  public static final String DATABASE = "flipflow";
  public static final String ANALYST = "flipflow_analyst";
  private final EmbeddedPostgres pg;
  private final int port;

  private LocalPostgres(EmbeddedPostgres pg, int port) {
    this.pg = pg;
    this.port = port;
  }

  public static LocalPostgres start(Path dataDir, int port) {
    Ports.requireFree(port, "PostgreSQL");
    try {
      Files.createDirectories(dataDir);
      EmbeddedPostgres pg =
          EmbeddedPostgres.builder()
              .setDataDirectory(dataDir)
              .setCleanDataDirectory(false)
              .setPort(port)
              .setServerConfig("listen_addresses", "127.0.0.1")
              .setServerConfig("unix_socket_directories", "")
              // zonky tunes for throwaway test databases; the run record must survive a crash
              .setServerConfig("fsync", "on")
              .setServerConfig("synchronous_commit", "on")
              .start();
      try (Connection c = pg.getPostgresDatabase().getConnection();
          Statement s = c.createStatement()) {
        try (ResultSet rs =
            s.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + DATABASE + "'")) {
          if (!rs.next()) {
            s.execute("CREATE DATABASE " + DATABASE);
          }
        }
      }
      return new LocalPostgres(pg, port);
    } catch (IOException | SQLException e) {
      throw new IllegalStateException(
          "embedded PostgreSQL did not start in " + dataDir + ": " + e.getMessage(), e);
    }
  }

  /** After migrations: an analyst login that holds only the read-only role. */
  public void ensureAnalystLogin() {
    try (Connection c = pg.getDatabase("postgres", DATABASE).getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '"
              + ANALYST
              + "') THEN CREATE ROLE "
              + ANALYST
              + " LOGIN IN ROLE flipflow_reader; END IF; END $$");
    } catch (SQLException e) {
      throw new IllegalStateException("could not create the analyst login: " + e.getMessage(), e);
    }
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + DATABASE;
  }

  @Override
  public String name() {
    return "PostgreSQL";
  }

  @Override
  public List<String> howToReach() {
    return List.of(
        "psql -h 127.0.0.1 -p " + port + " -U postgres " + DATABASE,
        "psql -h 127.0.0.1 -p " + port + " -U " + ANALYST + " " + DATABASE + "   (read-only)",
        "JDBC: " + jdbcUrl());
  }

  @Override
  public void close() {
    try {
      pg.close();
    } catch (IOException e) {
      throw new IllegalStateException("PostgreSQL did not stop cleanly: " + e.getMessage(), e);
    }
  }
}
