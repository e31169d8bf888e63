package io.flipflow.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The JDBC every store shares: one statement, one batch of upserts in one transaction, a query
 * mapped row by row. Hand-written because the stores need only these four shapes.
 */
final class Sql {
  private Sql() {}

  /** Maps the current row of a result set. */
  @FunctionalInterface
  interface RowMapper<T> {
    T map(ResultSet rs) throws SQLException;
  }

  static int update(Database db, String sql, Object... args) throws SQLException {
    try (Connection c = db.connection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, args);
      return ps.executeUpdate();
    }
  }

  /**
   * Runs {@code sql} once per row in one transaction: all rows are written or none. Returns the
   * rows the database reports as changed (an {@code ON CONFLICT DO NOTHING} skip counts 0).
   */
  static <T> int batch(Database db, String sql, Collection<T> rows, Function<T, Object[]> values)
      throws SQLException {
    if (rows.isEmpty()) {
      return 0;
    }
    try (Connection c = db.connection()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        for (T row : rows) {
          bind(ps, values.apply(row));
          ps.addBatch();
        }
        int changed = 0;
        for (int n : ps.executeBatch()) {
          changed += Math.max(n, 0);
        }
        c.commit();
        return changed;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    }
  }

  static <T> List<T> list(Database db, String sql, RowMapper<T> mapper, Object... args)
      throws SQLException {
    try (Connection c = db.connection()) {
      return list(c, sql, mapper, args);
    }
  }

  static <T> List<T> list(Connection c, String sql, RowMapper<T> mapper, Object... args)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, args);
      try (ResultSet rs = ps.executeQuery()) {
        List<T> out = new ArrayList<>();
        while (rs.next()) {
          out.add(mapper.map(rs));
        }
        return out;
      }
    }
  }

  static <T> Optional<T> first(Database db, String sql, RowMapper<T> mapper, Object... args)
      throws SQLException {
    List<T> rows = list(db, sql, mapper, args);
    return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0));
  }

  static void bind(PreparedStatement ps, Object... args) throws SQLException {
    for (int i = 0; i < args.length; i++) {
      Object a = args[i];
      if (a == null) {
        ps.setNull(i + 1, Types.NULL);
      } else {
        ps.setObject(i + 1, a);
      }
    }
  }

  /** A nullable column as a boxed value (JDBC's getLong/getDouble turn NULL into 0). */
  static Long longOrNull(ResultSet rs, int column) throws SQLException {
    long v = rs.getLong(column);
    return rs.wasNull() ? null : v;
  }

  static Double doubleOrNull(ResultSet rs, int column) throws SQLException {
    double v = rs.getDouble(column);
    return rs.wasNull() ? null : v;
  }
}
