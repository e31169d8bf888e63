package io.flipflow.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A locked row, a slow statement, a server that never answers and a backend that stops answering
 * each end a call of {@link Database#connect}'s pool with an {@link SQLException} within its
 * timeouts; and the pool reuses its connections and closes them with the database.
 *
 * <p>Observed before the pool and the timeouts (the old {@code Database.connect}, a bare {@code
 * PGSimpleDataSource} with only a 10 s connect timeout): the {@code upsertRun} behind the row lock
 * was still waiting when the holder released it after 120 s, and then completed; the same wait
 * through the pool ends after the 1 s lock timeout. {@link #withoutTheTimeoutsTheSameWriteWaits}
 * keeps that control in the suite.
 */
class DatabaseLivenessTest {
  static PostgresFixture pg;
  static final RunStore.RunRow RUN =
      new RunStore.RunRow(
          "run-locked",
          "r1",
          null,
          "locked",
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
          "fp-locked");

  @BeforeAll
  static void start() throws SQLException {
    pg = PostgresFixture.start();
    pg.database().migrate();
    pg.database().runs().upsertRun(RUN);
  }

  @AfterAll
  static void stop() throws Exception {
    pg.close();
  }

  private static Database.Settings settings(Duration statement, Duration lock) {
    return new Database.Settings(
        3,
        Duration.ofSeconds(2),
        statement.plusSeconds(2),
        statement,
        lock,
        Duration.ofSeconds(3),
        Duration.ofMinutes(1));
  }

  /** A second client that holds the row of {@link #RUN} locked until closed. */
  private static Connection lockTheRow() throws SQLException {
    Connection holder = pg.plainConnection();
    holder.setAutoCommit(false);
    try (PreparedStatement ps =
        holder.prepareStatement("SELECT 1 FROM runs WHERE run_id = ? FOR UPDATE")) {
      ps.setString(1, RUN.workflowId());
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next(), "the run row to lock is there");
      }
    }
    return holder;
  }

  @Test
  void aWriteBehindARowLockFailsAfterTheLockTimeout() throws Exception {
    try (Database db = pg.connect(settings(Duration.ofSeconds(20), Duration.ofSeconds(1)));
        Connection holder = lockTheRow()) {
      long t0 = System.nanoTime();
      SQLException e =
          assertTimeoutPreemptively(
              Duration.ofSeconds(15),
              () -> assertThrows(SQLException.class, () -> db.runs().upsertRun(RUN)));
      double seconds = (System.nanoTime() - t0) / 1e9;
      assertEquals("55P03", e.getSQLState(), "lock_not_available: " + e.getMessage());
      assertTrue(seconds >= 0.9 && seconds < 10, "failed after " + seconds + " s");
      holder.rollback();
    }
  }

  @Test
  void aWriteBehindARowLockFailsAfterTheStatementTimeoutWhenThatComesFirst() throws Exception {
    try (Database db = pg.connect(settings(Duration.ofSeconds(1), Duration.ofSeconds(20)));
        Connection holder = lockTheRow()) {
      long t0 = System.nanoTime();
      SQLException e =
          assertTimeoutPreemptively(
              Duration.ofSeconds(15),
              () -> assertThrows(SQLException.class, () -> db.runs().upsertRun(RUN)));
      double seconds = (System.nanoTime() - t0) / 1e9;
      assertEquals("57014", e.getSQLState(), "query_canceled: " + e.getMessage());
      assertTrue(seconds >= 0.9 && seconds < 10, "failed after " + seconds + " s");
      holder.rollback();
      // the connection the server cancelled on stays usable: the same write now goes through
      db.runs().upsertRun(RUN);
    }
  }

  @Test
  void withoutTheTimeoutsTheSameWriteWaits() throws Exception {
    // the old Database.connect: a bare data source with a connect timeout and nothing else
    PGSimpleDataSource bare = new PGSimpleDataSource();
    bare.setUrl(pg.jdbcUrl());
    bare.setUser(pg.user());
    if (!pg.password().isEmpty()) {
      bare.setPassword(pg.password());
    }
    bare.setConnectTimeout(10);
    Database old = Database.of(bare, "bare data source");
    ExecutorService ex = Executors.newSingleThreadExecutor();
    try (Connection holder = lockTheRow()) {
      Future<?> write =
          ex.submit(
              () -> {
                old.runs().upsertRun(RUN);
                return null;
              });
      // five times the lock timeout the pooled database gives up after: still waiting
      assertThrows(TimeoutException.class, () -> write.get(5, TimeUnit.SECONDS));
      holder.rollback();
      write.get(30, TimeUnit.SECONDS);
    } finally {
      ex.shutdownNow();
    }
  }

  @Test
  void aSlowStatementFailsAfterTheStatementTimeout() throws Exception {
    try (Database db = pg.connect(settings(Duration.ofSeconds(1), Duration.ofSeconds(1)))) {
      long t0 = System.nanoTime();
      SQLException e =
          assertTimeoutPreemptively(
              Duration.ofSeconds(15),
              () ->
                  assertThrows(
                      SQLException.class,
                      () -> {
                        try (Connection c = db.connection();
                            Statement s = c.createStatement()) {
                          s.execute("SELECT pg_sleep(30)");
                        }
                      }));
      double seconds = (System.nanoTime() - t0) / 1e9;
      assertEquals("57014", e.getSQLState(), e.getMessage());
      assertTrue(seconds < 10, "failed after " + seconds + " s");
    }
  }

  @Test
  void aBackendThatStopsAnsweringFailsAfterTheSocketTimeout() throws Exception {
    // SIGSTOP on the server process of the connection: the server cannot cancel anything, only
    // the client's socket timeout ends the wait (a hung host or a dropped network looks the same)
    Database.Settings s = settings(Duration.ofSeconds(1), Duration.ofSeconds(1));
    try (Database db = pg.connect(s);
        Connection c = db.connection()) {
      long pid;
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
        rs.next();
        pid = rs.getLong(1);
      }
      signal("STOP", pid);
      try {
        long t0 = System.nanoTime();
        SQLException e =
            assertTimeoutPreemptively(
                Duration.ofSeconds(20),
                () ->
                    assertThrows(
                        SQLException.class,
                        () -> {
                          try (Statement st = c.createStatement()) {
                            st.execute("SELECT 1");
                          }
                        }));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(
            seconds >= s.socketTimeout().toSeconds() - 0.5 && seconds < 12,
            "failed after " + seconds + " s: " + e.getMessage());
        assertTrue(e.getSQLState().startsWith("08"), e.getSQLState() + " " + e.getMessage());
      } finally {
        signal("CONT", pid);
      }
      // the pool drops the broken connection and hands out a working one
      try (Connection fresh = db.connection();
          Statement st = fresh.createStatement();
          ResultSet rs = st.executeQuery("SELECT 1")) {
        assertTrue(rs.next());
      }
    }
  }

  private static void signal(String name, long pid) throws Exception {
    Process p = new ProcessBuilder("kill", "-" + name, String.valueOf(pid)).inheritIO().start();
    assertEquals(0, p.waitFor(), "kill -" + name + " " + pid);
  }

  @Test
  void aServerThatNeverAnswersFailsAfterTheConnectTimeout() throws Exception {
    // accepts TCP connections and never says a word: no timeout in the driver, and it waits forever
    List<Socket> accepted = new ArrayList<>();
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread acceptor =
          new Thread(
              () -> {
                try {
                  while (true) {
                    accepted.add(silent.accept());
                  }
                } catch (IOException closed) {
                  // the test is over
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
      try (Database db =
          Database.connect(
              "jdbc:postgresql://127.0.0.1:" + silent.getLocalPort() + "/flipflow",
              "postgres",
              "not-to-be-printed",
              settings(Duration.ofSeconds(1), Duration.ofSeconds(1)))) {
        long t0 = System.nanoTime();
        SQLException e =
            assertTimeoutPreemptively(
                Duration.ofSeconds(20), () -> assertThrows(SQLException.class, db::connection));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(seconds < 10, "failed after " + seconds + " s");
        assertTrue(e.getMessage().contains("127.0.0.1:" + silent.getLocalPort()), e.getMessage());
        assertFalse(e.getMessage().contains("not-to-be-printed"), e.getMessage());
      }
    } finally {
      for (Socket s : accepted) {
        s.close();
      }
    }
  }

  @Test
  void thePoolReusesItsConnectionsAndClosingTheDatabaseClosesThem() throws Exception {
    Database db = pg.connect(settings(Duration.ofSeconds(5), Duration.ofSeconds(2)));
    Set<Long> pids = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      db.runs().upsertRun(RUN);
      try (Connection c = db.connection();
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
        rs.next();
        pids.add(rs.getLong(1));
      }
    }
    assertEquals(1, pids.size(), "one caller after another is one connection: " + pids);
    // three at once: the pool opens up to its size, no more
    Connection a = db.connection();
    Connection b = db.connection();
    Connection c = db.connection();
    SQLException full = assertThrows(SQLException.class, db::connection);
    assertTrue(full.getMessage().contains("timed out"), full.getMessage());
    for (Connection x : List.of(a, b, c)) {
      try (Statement s = x.createStatement();
          ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
        rs.next();
        pids.add(rs.getLong(1));
      }
      x.close();
    }
    assertEquals(3, pids.size(), "backends of the pool: " + pids);
    assertEquals(3, liveBackends(pids), "the pool keeps its connections open between calls");

    db.close();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (liveBackends(pids) > 0 && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertEquals(0, liveBackends(pids), "backends left after close");
    SQLException closed = assertThrows(SQLException.class, db::connection);
    assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
    db.close(); // a second close changes nothing
  }

  private static long liveBackends(Set<Long> pids) throws SQLException {
    try (Connection c = pg.plainConnection();
        PreparedStatement ps =
            c.prepareStatement("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY (?)")) {
      ps.setArray(1, c.createArrayOf("int4", pids.stream().map(Long::intValue).toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  @Test
  void settingsThatWouldWaitForeverAreRefused() {
    IllegalArgumentException zero =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new Database.Settings(
                    10,
                    Duration.ofSeconds(10),
                    Duration.ofSeconds(45),
                    Duration.ZERO,
                    Duration.ofSeconds(10),
                    Duration.ofSeconds(15),
                    Duration.ofMinutes(10)));
    assertTrue(zero.getMessage().contains("postgres.statementTimeout"), zero.getMessage());
    IllegalArgumentException socket =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new Database.Settings(
                    10,
                    Duration.ofSeconds(10),
                    Duration.ofSeconds(30),
                    Duration.ofSeconds(30),
                    Duration.ofSeconds(10),
                    Duration.ofSeconds(15),
                    Duration.ofMinutes(10)));
    assertTrue(socket.getMessage().contains("postgres.socketTimeout"), socket.getMessage());
  }

  @Test
  void aPasswordInTheUrlIsMaskedInMessages() {
    assertEquals(
        "jdbc:postgresql://h:5432/db?user=u&password=***&sslmode=require",
        Database.safeUrl("jdbc:postgresql://h:5432/db?user=u&password=hunter2&sslmode=require"));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Database.connect("postgres://h/db?password=hunter2", "u", "hunter2"));
    assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
  }
}
