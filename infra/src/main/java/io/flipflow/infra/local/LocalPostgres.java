package io.flipflow.infra.local;

import io.flipflow.infra.config.LocalSecrets;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Embedded PostgreSQL (zonky) with its data under the state folder, so the run record survives a
 * restart. It listens on 127.0.0.1 only, has no Unix socket, and every login needs a password
 * (SCRAM-SHA-256): the superuser's is set by initdb from a private file, never over a trusting
 * connection. Creates the {@code flipflow} database and a login analyst in the read-only role.
 */
public final class LocalPostgres implements LocalService {
  public static final String DATABASE = "flipflow";
  public static final String ANALYST = "flipflow_analyst";
  public static final String SUPERUSER = "postgres";

  /** The first line of the pg_hba.conf flipflow writes; its absence marks a trust-era folder. */
  static final String HBA_MARKER = "# flipflow: password (SCRAM) logins over 127.0.0.1 only";

  private static final Logger log = LoggerFactory.getLogger(LocalPostgres.class);
  private final EmbeddedPostgres pg;
  private final int port;
  private Path pgpass;
  private boolean superuserInPgpass;

  private LocalPostgres(EmbeddedPostgres pg, int port) {
    this.pg = pg;
    this.port = port;
  }

  /**
   * Starts the server on {@code dataDir}, initialising it the first time with {@code
   * superuserPassword} for role {@value #SUPERUSER}. A folder made by an older flipflow (trust
   * auth, no password) gets the password once, then requires it like a new one.
   */
  public static LocalPostgres start(Path dataDir, int port, String superuserPassword) {
    if (superuserPassword == null || superuserPassword.isEmpty()) {
      throw new IllegalArgumentException("the embedded PostgreSQL needs a superuser password");
    }
    Ports.requireFree(port, "PostgreSQL");
    try {
      Files.createDirectories(dataDir);
      boolean fresh = !Files.exists(dataDir.resolve("postgresql.conf"));
      if (fresh) {
        return new LocalPostgres(startFresh(dataDir, port, superuserPassword), port).created();
      }
      if (!passwordsRequired(dataDir)) {
        securePasswordlessFolder(dataDir, port, superuserPassword);
      }
      return new LocalPostgres(startWithPassword(dataDir, port, superuserPassword, null), port)
          .created();
    } catch (IOException e) {
      throw new IllegalStateException(
          "embedded PostgreSQL did not start in " + dataDir + ": " + e.getMessage(), e);
    }
  }

  /** initdb with the superuser's password from a private file, SCRAM from the first start. */
  private static EmbeddedPostgres startFresh(Path dataDir, int port, String password)
      throws IOException {
    Path pwfile =
        dataDir.toAbsolutePath().getParent().resolve(".initdb-pwfile-" + UUID.randomUUID());
    LocalSecrets.writePrivate(pwfile, password + "\n");
    try {
      return startWithPassword(dataDir, port, password, pwfile);
    } finally {
      Files.deleteIfExists(pwfile);
    }
  }

  private static boolean passwordsRequired(Path dataDir) throws IOException {
    Path hba = dataDir.resolve("pg_hba.conf");
    return Files.exists(hba) && Files.readString(hba).startsWith(HBA_MARKER);
  }

  /**
   * A folder from before passwords: started once as it was (trust), the superuser given its
   * password, stopped; the next start requires it.
   */
  private static void securePasswordlessFolder(Path dataDir, int port, String password)
      throws IOException {
    log.warn(
        "the PostgreSQL data in {} was made without a password (trust): setting the superuser's"
            + " password and requiring it from now on",
        dataDir);
    EmbeddedPostgres trusting = builder(dataDir, port, password).start();
    try (Connection c = trusting.getPostgresDatabase().getConnection()) {
      setPassword(c, SUPERUSER, password);
    } catch (SQLException e) {
      throw new IllegalStateException(
          "could not set the superuser password in " + dataDir + ": " + e.getMessage(), e);
    } finally {
      trusting.close();
    }
  }

  private static EmbeddedPostgres startWithPassword(
      Path dataDir, int port, String password, Path initdbPwfile) throws IOException {
    EmbeddedPostgres.Builder b =
        builder(dataDir, port, password).setDataDirectoryCustomizer(LocalPostgres::writeHba);
    if (initdbPwfile != null) {
      // zonky passes these to initdb as --auth=... --pwfile=... (after its own -A trust)
      b.setLocaleConfig("auth", "scram-sha-256").setLocaleConfig("pwfile", initdbPwfile.toString());
    }
    try {
      return b.start();
    } catch (IOException e) {
      // zonky gave up waiting for a login: the postmaster it started is still up, so stop it
      stopOrphan(dataDir, port);
      if (refusedPassword(e)) {
        throw new IllegalStateException(
            "embedded PostgreSQL in "
                + dataDir
                + " refused the password for "
                + SUPERUSER
                + ": the folder keeps the password it was created with. Set postgres.password"
                + " to that one, or leave it unset to use the one in "
                + dataDir.toAbsolutePath().getParent().resolve(LocalSecrets.FILE),
            e);
      }
      throw e;
    }
  }

  private static EmbeddedPostgres.Builder builder(Path dataDir, int port, String password) {
    return EmbeddedPostgres.builder()
        .setDataDirectory(dataDir)
        .setCleanDataDirectory(false)
        .setPort(port)
        .setServerConfig("listen_addresses", "127.0.0.1")
        .setServerConfig("unix_socket_directories", "")
        .setServerConfig("password_encryption", "scram-sha-256")
        // zonky tunes for throwaway test databases; the run record must survive a crash
        .setServerConfig("fsync", "on")
        .setServerConfig("synchronous_commit", "on")
        // zonky's own readiness check logs in as the superuser, so it needs the password too
        .setConnectConfig("password", password);
  }

  /** Every start: password logins over IPv4 loopback, nothing else (no trust, no socket). */
  private static void writeHba(java.io.File dataDir) {
    try {
      Files.writeString(
          dataDir.toPath().resolve("pg_hba.conf"),
          HBA_MARKER
              + "\n# Rewritten by flipflow at every start; edits here are lost.\n"
              + "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
              + "host    all       all   127.0.0.1/32  scram-sha-256\n",
          StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write pg_hba.conf in " + dataDir, e);
    }
  }

  private static boolean refusedPassword(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException s
          && ("28P01".equals(s.getSQLState()) || "28000".equals(s.getSQLState()))) {
        return true;
      }
    }
    return false;
  }

  /** Stops the postmaster of {@code dataDir} if it is the one on {@code port} zonky left up. */
  private static void stopOrphan(Path dataDir, int port) {
    Path pidFile = dataDir.resolve("postmaster.pid");
    try {
      if (!Files.exists(pidFile)) {
        return;
      }
      List<String> lines = Files.readAllLines(pidFile);
      if (lines.size() < 4 || !lines.get(3).trim().equals(String.valueOf(port))) {
        return;
      }
      Optional<ProcessHandle> p = ProcessHandle.of(Long.parseLong(lines.get(0).trim()));
      if (p.isPresent()) {
        p.get().destroy();
        p.get().onExit().get(15, TimeUnit.SECONDS);
      }
      // the failed instance keeps its lock on this file for the life of the JVM; a new file
      // lets a later start in this JVM (a corrected password) take the folder
      Files.deleteIfExists(dataDir.resolve("epg-lock"));
    } catch (Exception e) {
      log.warn("could not stop the PostgreSQL left running in {}: {}", dataDir, e.toString());
    }
  }

  private static void setPassword(Connection c, String role, String password) throws SQLException {
    // hashed here (SCRAM verifier), so the password itself never reaches the server or its log
    c.unwrap(PGConnection.class).alterUserPassword(role, password.toCharArray(), "scram-sha-256");
  }

  private LocalPostgres created() {
    try (Connection c = pg.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      try (ResultSet rs =
          s.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + DATABASE + "'")) {
        if (!rs.next()) {
          s.execute("CREATE DATABASE " + DATABASE);
        }
      }
      return this;
    } catch (SQLException e) {
      close();
      throw new IllegalStateException(
          "embedded PostgreSQL started but could not create database " + DATABASE + ": " + e, e);
    }
  }

  /**
   * After migrations: an analyst login that holds only the read-only role, with {@code password}
   * (set again at every start, so it is always the one in the state folder).
   */
  public void ensureAnalystLogin(String password) {
    try (Connection c = pg.getDatabase(SUPERUSER, DATABASE).getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '"
              + ANALYST
              + "') THEN CREATE ROLE "
              + ANALYST
              + " LOGIN IN ROLE flipflow_reader; END IF; END $$");
      setPassword(c, ANALYST, password);
    } catch (SQLException e) {
      throw new IllegalStateException("could not create the analyst login: " + e.getMessage(), e);
    }
  }

  /**
   * Writes a libpq password file (mode 0600) for the psql lines of {@link #howToReach}: the analyst
   * always, the superuser where its password is the generated one (a password the user configured
   * is theirs to keep, not copied here).
   */
  public void writePgpass(Path file, Optional<String> superuserPassword, String analystPassword) {
    StringBuilder text = new StringBuilder();
    text.append("# libpq password file of flipflow's local PostgreSQL: PGPASSFILE=")
        .append(file.toAbsolutePath())
        .append(" psql ..., or append it to ~/.pgpass\n");
    superuserPassword.ifPresent(pw -> text.append(pgpassLine(SUPERUSER, pw)).append('\n'));
    text.append(pgpassLine(ANALYST, analystPassword)).append('\n');
    try {
      LocalSecrets.writePrivate(file, text.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
    this.pgpass = file.toAbsolutePath();
    this.superuserInPgpass = superuserPassword.isPresent();
  }

  private String pgpassLine(String user, String password) {
    return "127.0.0.1:"
        + port
        + ":*:"
        + user
        + ":"
        + password.replace("\\", "\\\\").replace(":", "\\:");
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
    List<String> lines = new ArrayList<>();
    if (pgpass != null) {
      lines.add("export PGPASSFILE=" + pgpass + "   (the passwords for psql, mode 0600)");
    }
    lines.add(
        "psql -h 127.0.0.1 -p "
            + port
            + " -U "
            + SUPERUSER
            + " "
            + DATABASE
            + (pgpass != null && !superuserInPgpass
                ? "   (password: your postgres.password)"
                : ""));
    lines.add(
        "psql -h 127.0.0.1 -p " + port + " -U " + ANALYST + " " + DATABASE + "   (read-only)");
    lines.add("JDBC: " + jdbcUrl() + " as " + SUPERUSER);
    return lines;
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
