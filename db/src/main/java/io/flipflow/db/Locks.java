package io.flipflow.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster-wide mutual exclusion by name, on PostgreSQL's session advisory locks: one stager per
 * staged set at a time, whichever worker it runs on. A lock lives as long as its connection, so a
 * worker that dies lets go of it with its connection. Writes no table.
 */
public final class Locks {
  private static final Logger log = LoggerFactory.getLogger(Locks.class);
  private final Database db;

  Locks(Database db) {
    this.db = db;
  }

  /** A held lock; closing releases it and its connection. */
  public interface Lock extends AutoCloseable {
    @Override
    void close();
  }

  /** The lock named {@code name} if no one holds it now; empty when another session does. */
  public Optional<Lock> tryLock(String name) throws SQLException {
    // not from the pool: a pooled connection handed back would keep the session's lock
    Connection c = db.unpooledConnection();
    try {
      try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(" + KEY + ")")) {
        ps.setString(1, name);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          if (!rs.getBoolean(1)) {
            c.close();
            return Optional.empty();
          }
        }
      }
    } catch (SQLException | RuntimeException e) {
      c.close();
      throw e;
    }
    return Optional.of(
        () -> {
          try (c;
              PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_unlock(" + KEY + ")")) {
            ps.setString(1, name);
            ps.execute();
          } catch (SQLException e) {
            // the connection is closed either way, and with it the session's locks
            log.warn("unlocking {}: {}", name, e.getMessage());
          }
        });
  }

  /** A 64-bit key from the name: the first 16 hex digits of its MD5. */
  private static final String KEY = "('x' || substr(md5(?), 1, 16))::bit(64)::bigint";
}
