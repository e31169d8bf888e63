package io.flipflow.infra.cli;

import io.flipflow.db.Database;
import io.flipflow.db.PaperTables;
import io.flipflow.db.StudyRecord;
import java.io.PrintStream;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** Prints the paper's tables for a study from the Postgres views, as psql would. */
final class StudyTables {
  private StudyTables() {}

  static void print(Database db, String studyId, PrintStream out) throws SQLException {
    for (PaperTables t : PaperTables.forStudy(db, studyId)) {
      out.println("\n" + t.title());
      print(t.read(db, studyId), out);
    }
  }

  static void print(StudyRecord.Table table, PrintStream out) {
    List<List<String>> rows = new ArrayList<>();
    rows.add(table.headers());
    rows.addAll(table.rows());
    int n = table.headers().size();
    int[] width = new int[n];
    for (List<String> r : rows) {
      for (int i = 0; i < n; i++) {
        width[i] = Math.max(width[i], r.get(i).length());
      }
    }
    for (int k = 0; k < rows.size(); k++) {
      StringBuilder b = new StringBuilder(" ");
      for (int i = 0; i < n; i++) {
        b.append(String.format("%-" + width[i] + "s", rows.get(k).get(i)));
        b.append(i + 1 < n ? " | " : "");
      }
      out.println(b);
      if (k == 0) {
        StringBuilder line = new StringBuilder("-");
        for (int i = 0; i < n; i++) {
          line.append("-".repeat(width[i])).append(i + 1 < n ? "-+-" : "-");
        }
        out.println(line);
      }
    }
    out.printf("(%d rows)%n", rows.size() - 1);
  }
}
