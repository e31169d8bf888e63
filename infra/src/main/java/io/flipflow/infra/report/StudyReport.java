package io.flipflow.infra.report;

import io.flipflow.db.Database;
import io.flipflow.db.StudyRecord;
import io.flipflow.db.StudyRecord.Run;
import io.flipflow.db.StudyRecord.Table;
import io.flipflow.db.StudyRecord.UnrecordedRun;
import io.flipflow.db.StudyRecord.ZeroShot;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code flipflow report}: a study's (or some runs') plots and tables from the run record, written
 * as PNG files and a {@code report.md} that embeds them, into one folder.
 */
public final class StudyReport {
  private static final Logger log = LoggerFactory.getLogger(StudyReport.class);

  public static final String LOSS_PNG = "loss_vs_wallclock.png";
  public static final String TOP1_WALLCLOCK_PNG = "top1_vs_wallclock.png";
  public static final String TOP1_SAMPLES_PNG = "top1_vs_samples.png";
  public static final String TOP1_DATA_PNG = "top1_vs_data_size.png";
  public static final String MARKDOWN = "report.md";

  /**
   * @param dataset zero-shot data set of plots (2) and (3); null: the first with split {@code
   *     unseen}, else the first recorded
   * @param split its split; null: {@code unseen} if recorded for the data set, else the first
   * @param width of each PNG in pixels
   * @param height of each PNG in pixels
   */
  public record Options(String dataset, String split, int width, int height) {
    public Options {
      if (width < 200 || height < 150 || width > 8000 || height > 8000) {
        throw new IllegalArgumentException(
            "report image size must be within 200x150 and 8000x8000, got " + width + "x" + height);
      }
    }

    public static Options defaults() {
      return new Options(null, null, 960, 600);
    }
  }

  /** What was written; dataset and split are those of the accuracy plots (null if none). */
  public record Written(
      Path markdown, List<Path> images, String dataset, String split, List<String> runIds) {}

  private StudyReport() {}

  /** The report of every run recorded with this study id. */
  public static Written writeStudy(Database db, String studyId, Path outDir, Options options)
      throws IOException, SQLException {
    return write(StudyRecord.readStudy(db, studyId), outDir, options);
  }

  public static Written writeStudy(Database db, String studyId, Path outDir)
      throws IOException, SQLException {
    return writeStudy(db, studyId, outDir, Options.defaults());
  }

  /** The report of runs chosen by id, e.g. runs started on their own outside any study. */
  public static Written writeRuns(Database db, List<String> runIds, Path outDir, Options options)
      throws IOException, SQLException {
    return write(StudyRecord.readRuns(db, runIds), outDir, options);
  }

  static Written write(StudyRecord record, Path outDir, Options options) throws IOException {
    // JFreeChart draws with AWT: without a display the report must not try to open one
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
    Files.createDirectories(outDir);
    Optional<String[]> chosen = datasetAndSplit(record, options.dataset(), options.split());
    String dataset = chosen.map(c -> c[0]).orElse(options.dataset());
    String split = chosen.map(c -> c[1]).orElse(options.split());
    Path loss = outDir.resolve(LOSS_PNG);
    Path wall = outDir.resolve(TOP1_WALLCLOCK_PNG);
    Path samples = outDir.resolve(TOP1_SAMPLES_PNG);
    int w = options.width();
    int h = options.height();
    ReportCharts.lossVsWallClock(record, loss, w, h);
    String d = dataset == null ? "-" : dataset;
    String s = split == null ? "-" : split;
    ReportCharts.top1VsWallClock(record, d, s, wall, w, h);
    ReportCharts.top1VsSamplesSeen(record, d, s, samples, w, h);
    List<Path> images = new ArrayList<>(List.of(loss, wall, samples));
    boolean dataAxis = variesDataSize(record);
    if (dataAxis) {
      Path data = outDir.resolve(TOP1_DATA_PNG);
      ReportCharts.top1VsDataSize(record, d, s, data, w, h);
      images.add(data);
    }
    Path md = outDir.resolve(MARKDOWN);
    Files.writeString(
        md, markdown(record, dataset, split, Instant.now(), dataAxis), StandardCharsets.UTF_8);
    List<String> runIds = record.runs().stream().map(Run::runId).toList();
    log.info("report of {} runs written to {}", runIds.size(), outDir);
    return new Written(md, List.copyOf(images), dataset, split, runIds);
  }

  /** Whether the runs used training sets of more than one size (the data axis of a study). */
  static boolean variesDataSize(StudyRecord record) {
    return record.runs().stream()
            .map(Run::dataSamples)
            .filter(java.util.Objects::nonNull)
            .distinct()
            .count()
        > 1;
  }

  /**
   * The accuracy plots' data set: as asked, else the first with split unseen (FLIP's held-out
   * concepts), else the first recorded. Empty when no zero-shot result exists at all.
   */
  static Optional<String[]> datasetAndSplit(StudyRecord record, String dataset, String split) {
    List<ZeroShot> z = record.zeroShot();
    List<String> recorded =
        z.stream().map(r -> r.dataset() + "/" + r.split()).distinct().sorted().toList();
    if (dataset != null) {
      List<ZeroShot> ofSet = z.stream().filter(r -> r.dataset().equals(dataset)).toList();
      String chosenSplit = split;
      if (chosenSplit == null) {
        chosenSplit =
            ofSet.stream().anyMatch(r -> r.split().equals("unseen"))
                ? "unseen"
                : ofSet.stream().map(ZeroShot::split).sorted().findFirst().orElse(null);
      }
      String fs = chosenSplit;
      if (fs == null || ofSet.stream().noneMatch(r -> r.split().equals(fs))) {
        throw new IllegalArgumentException(
            "report dataset "
                + dataset
                + (split == null ? "" : " split " + split)
                + ": no zero-shot classification result for it; recorded: "
                + recorded);
      }
      return Optional.of(new String[] {dataset, fs});
    }
    if (split != null) {
      String first =
          z.stream()
              .filter(r -> r.split().equals(split))
              .map(ZeroShot::dataset)
              .findFirst()
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "report split "
                              + split
                              + ": no zero-shot result with it; recorded: "
                              + recorded));
      return Optional.of(new String[] {first, split});
    }
    return z.stream()
        .filter(r -> r.split().equals("unseen"))
        .findFirst()
        .or(() -> z.stream().findFirst())
        .map(r -> new String[] {r.dataset(), r.split()});
  }

  static String markdown(StudyRecord record, String dataset, String split, Instant generated) {
    return markdown(record, dataset, split, generated, variesDataSize(record));
  }

  static String markdown(
      StudyRecord record, String dataset, String split, Instant generated, boolean dataAxis) {
    StringBuilder md = new StringBuilder();
    if (record.studyId() != null) {
      md.append("# FLIP study ").append(inline(record.studyId())).append("\n\n");
    } else {
      md.append("# FLIP runs\n\n");
    }
    if (record.studyName() != null) {
      md.append("- name: ").append(inline(record.studyName())).append('\n');
      md.append("- status: ").append(inline(record.studyStatus())).append('\n');
      if (record.budget() != null) {
        md.append("- budget: ").append(inline(record.budget())).append('\n');
      }
      md.append("- started: ").append(time(record.createdAt())).append('\n');
      if (record.finishedAt() != null) {
        md.append("- finished: ").append(time(record.finishedAt())).append('\n');
      }
    } else if (record.studyId() != null) {
      md.append("- no row in table studies for this id: the runs name it on their own\n");
    }
    md.append("- report generated: ").append(time(generated)).append('\n');
    md.append("- runs (")
        .append(record.runs().size())
        .append("): ")
        .append(
            record.runs().stream()
                .map(r -> "`" + r.runId() + "`")
                .collect(Collectors.joining(", ")))
        .append('\n');
    if (dataset != null) {
      md.append("- zero-shot plots: ")
          .append(inline(dataset))
          .append(" / ")
          .append(inline(split))
          .append(" (tables: every data set and split recorded)\n");
    }
    md.append('\n');
    if (!record.unrecordedRuns().isEmpty()) {
      md.append("Runs of the study that failed before writing their own record:\n\n");
      List<List<String>> rows = new ArrayList<>();
      for (UnrecordedRun u : record.unrecordedRuns()) {
        rows.add(List.of(u.runId(), u.status(), u.message() == null ? "" : u.message()));
      }
      appendTable(md, new Table(List.of("run", "status", "message"), rows));
    }

    md.append("## Training loss against wall-clock\n\n");
    md.append("![Training loss against wall-clock](").append(LOSS_PNG).append(")\n\n");
    md.append("## Zero-shot accuracy against wall-clock (Figure 1 style)\n\n");
    md.append("![Zero-shot top-1 against training wall-clock](")
        .append(TOP1_WALLCLOCK_PNG)
        .append(")\n\n");
    md.append("## Zero-shot accuracy against samples seen (Figure 3 style)\n\n");
    md.append("![Zero-shot top-1 against samples seen](").append(TOP1_SAMPLES_PNG).append(")\n\n");
    if (dataAxis) {
      md.append("## Zero-shot accuracy against training-set size (Figure 3's data axis)\n\n");
      md.append("![Zero-shot top-1 against training-set size](")
          .append(TOP1_DATA_PNG)
          .append(")\n\n");
    }

    md.append("## Runs (v_run_summary)\n\n");
    appendTable(md, record.runSummary());
    md.append("## Table 1a: mask ratio (v_table1a_mask_ratio)\n\n");
    md.append(
        "Finished runs; top-1 after unmasked tuning where it ran, with its 95% Wilson interval"
            + " over the evaluation set; pretraining time against the study's unmasked run of the"
            + " same model, batch and seed (equal wall-clock: 1.000). Over seeds:"
            + " v_seeds_table1a.\n\n");
    appendTable(md, record.table1a());
    md.append("## Table 1e: unmasked tuning (v_table1e_unmasked_tuning)\n\n");
    md.append(
        "Both figures come from the same images; the interval treats them as independent, so it"
            + " is wider than a paired one. Over seeds: v_seeds_table1e.\n\n");
    appendTable(md, record.table1e());
    md.append("## Table 1d: masked inference (v_table1d_masked_inference)\n\n");
    md.append(
        "Each model masked at the ratio it was trained at (an unmasked one at 0.5), one view and"
            + " an ensemble of views, against its full-image figure.\n\n");
    appendTable(md, record.table1d());
    return md.toString();
  }

  private static void appendTable(StringBuilder md, Table table) {
    if (table.rows().isEmpty()) {
      md.append("_no rows_\n\n");
      return;
    }
    md.append("| ").append(String.join(" | ", table.headers())).append(" |\n");
    md.append("|").append(" --- |".repeat(table.headers().size())).append('\n');
    for (List<String> row : table.rows()) {
      md.append("| ")
          .append(row.stream().map(StudyReport::cell).collect(Collectors.joining(" | ")))
          .append(" |\n");
    }
    md.append('\n');
  }

  /** A table cell: missing values as a dash, pipes and line breaks kept from breaking the row. */
  private static String cell(String value) {
    if (value == null) {
      return "–";
    }
    return value.replace("\\", "\\\\").replace("|", "\\|").replaceAll("\\R", " ");
  }

  private static String inline(String value) {
    return value == null ? "–" : "`" + value.replace("`", "'") + "`";
  }

  private static String time(Instant t) {
    return t == null ? "–" : t.truncatedTo(ChronoUnit.SECONDS).toString();
  }
}
