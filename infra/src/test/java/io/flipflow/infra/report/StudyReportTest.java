package io.flipflow.infra.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.db.Database;
import io.flipflow.db.EvalStore.EvalRow;
import io.flipflow.db.PostgresFixture;
import io.flipflow.db.RunStore;
import io.flipflow.db.StudyStore;
import io.flipflow.db.TrainingStore.MetricRow;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A small study recorded into a real PostgreSQL through the db stores, rendered, and read back. */
class StudyReportTest {
  static PostgresFixture pg;
  static final String STUDY = "study-flip-small";
  static final String TASK = "zeroshot_classification";

  // mask, pretrain s, tune s, acc1 pretrained, acc1 tuned, acc1 with masked inference
  static final double[][] RUNS = {
    {0.0, 100, 0, 0.40, 0.40, 0.30},
    {0.5, 50, 5, 0.38, 0.42, 0.36},
    {0.75, 30, 5, 0.33, 0.39, 0.35},
  };

  @TempDir Path out;

  @BeforeAll
  static void recordAStudy() throws SQLException {
    pg = PostgresFixture.start();
    pg.database().migrate();
    Database db = pg.database();
    db.studies()
        .upsertStudy(new StudyStore.StudyRow(STUDY, "mask ratio", "wf", "equal_samples", "{}"));
    for (double[] r : RUNS) {
      record(db, STUDY, runId(r[0]), r);
    }
    // a run outside the study, and a study child that failed before writing its own row
    record(db, null, "lone-mask0.5", new double[] {0.5, 20, 2, 0.20, 0.25, 0.18});
    db.studies()
        .upsertStudyRun(
            new StudyStore.StudyRunRow(
                STUDY,
                "study-flip-bad",
                "FAILED",
                null,
                null,
                null,
                0.9,
                64,
                null,
                null,
                null,
                "mask_ratio must be < 1"));
    // a second data set, sorted first but without 'unseen', recorded for the 0.5 run only
    db.evaluations()
        .recordEvalResults(
            List.of(
                new EvalRow(
                    runId(0.5),
                    "pretrained",
                    "c",
                    TASK,
                    "emoji-all",
                    "all",
                    "full",
                    "acc1",
                    0.61,
                    100)));
  }

  static void record(Database db, String study, String id, double[] r) throws SQLException {
    RunStore store = db.runs();
    double mask = r[0];
    boolean tuned = r[2] > 0;
    store.upsertRun(
        new RunStore.RunRow(
            id,
            "w",
            study,
            id,
            "tiny-emoji",
            64,
            mask,
            128,
            10_000L,
            "s3://b/t/",
            tuned,
            1,
            "cpu",
            "{}",
            null));
    List<MetricRow> metrics = new ArrayList<>();
    for (int step = 1; step <= 20; step++) {
      double seconds = r[1] * step / 20;
      metrics.add(
          new MetricRow(
              id,
              "pretrain",
              step,
              step * 500L,
              5.0 - 0.15 * step + mask,
              14,
              1e-3,
              100,
              50,
              seconds));
    }
    store.upsertStage(
        new RunStore.StageRow(
            id, "pretrain", "FINISHED", 0, (long) (r[1] * 1000), 10_000L, 100.0, null));
    if (tuned) {
      for (int step = 1; step <= 4; step++) {
        metrics.add(
            new MetricRow(
                id,
                "unmasked_tune",
                step,
                step * 125L,
                2.0 - 0.1 * step,
                14,
                1e-4,
                100,
                50,
                r[2] * step / 4));
      }
      store.upsertStage(
          new RunStore.StageRow(
              id, "unmasked_tune", "FINISHED", 0, (long) (r[2] * 1000), 500L, 100.0, null));
    }
    db.training().appendMetrics(metrics);
    List<EvalRow> evals = new ArrayList<>();
    evals.add(eval(id, "pretrained", "full", r[3]));
    evals.add(eval(id, "pretrained", "masked_0.50", r[5]));
    if (tuned) {
      evals.add(eval(id, "tuned", "full", r[4]));
    }
    db.evaluations().recordEvalResults(evals);
    store.finishRun(id, "FINISHED", null, null, null);
  }

  static EvalRow eval(String id, String phase, String inference, double acc1) {
    return new EvalRow(
        id, phase, "c", TASK, "emoji-subgroup", "unseen", inference, "acc1", acc1, 100);
  }

  static String runId(double mask) {
    return "study-flip-mask" + mask;
  }

  @AfterAll
  static void stop() throws Exception {
    pg.close();
  }

  @Test
  void writesPlotsOfTheRecordedRuns() throws Exception {
    StudyReport.Written w =
        StudyReport.writeStudy(
            pg.database(), STUDY, out, new StudyReport.Options(null, null, 800, 500));

    assertEquals("emoji-subgroup", w.dataset(), "first data set with split unseen");
    assertEquals("unseen", w.split());
    assertEquals(List.of(runId(0.0), runId(0.5), runId(0.75)), w.runIds());
    assertEquals(
        List.of(StudyReport.LOSS_PNG, StudyReport.TOP1_WALLCLOCK_PNG, StudyReport.TOP1_SAMPLES_PNG),
        w.images().stream().map(p -> p.getFileName().toString()).toList());
    for (Path png : w.images()) {
      BufferedImage image = ImageIO.read(png.toFile());
      assertNotNull(image, png + " does not decode as an image");
      assertEquals(800, image.getWidth(), png + " width");
      assertEquals(500, image.getHeight(), png + " height");
      int nonWhite = countPixels(image, rgb -> rgb != 0xffffff);
      assertTrue(nonWhite > 2_000, png + ": only " + nonWhite + " non-background pixels");
      // each mask ratio's colour is drawn (well beyond its legend swatch), an unused one is not
      for (int i = 0; i < RUNS.length; i++) {
        int n = colourPixels(image, ReportCharts.PALETTE[i]);
        assertTrue(n > 150, png + ": mask " + RUNS[i][0] + " has " + n + " pixels of its colour");
      }
      assertEquals(0, colourPixels(image, ReportCharts.PALETTE[3]), png + ": colour of no run");
    }
  }

  @Test
  void writesTheStudysTablesWithTheRecordedNumbers() throws Exception {
    StudyReport.Written w = StudyReport.writeStudy(pg.database(), STUDY, out);
    String md = Files.readString(w.markdown());

    assertTrue(md.startsWith("# FLIP study `" + STUDY + "`"), md);
    assertTrue(md.contains("- name: `mask ratio`"), md);
    assertTrue(md.contains(LocalDate.now(ZoneOffset.UTC).toString()), "report date");
    assertTrue(
        md.contains(
            "- runs (3): `study-flip-mask0.0`, `study-flip-mask0.5`, `study-flip-mask0.75`"),
        md);
    assertTrue(md.contains("| study-flip-bad | FAILED | mask_ratio must be < 1 |"), md);
    for (String png : List.of("loss_vs_wallclock", "top1_vs_wallclock", "top1_vs_samples")) {
      assertTrue(md.contains("](" + png + ".png)"), png + " embedded");
      assertTrue(Files.isRegularFile(out.resolve(png + ".png")), png + " written");
    }
    // Table 1a: top-1 after tuning where it ran with its Wilson interval (n = 100; SciPy 1.17.1
    // binomtest(...).proportion_ci(method="wilson")), pretraining time against the unmasked run
    assertTrue(
        md.contains(
            row(
                "0.00 | 128 | tiny-emoji | emoji-subgroup | unseen | 40.00 | [30.94, 49.80] | – | 100.0 | 1.000 | 100.0 | 10000 | study-flip-mask0.0")),
        md);
    assertTrue(
        md.contains(
            row(
                "0.50 | 128 | tiny-emoji | emoji-subgroup | unseen | 42.00 | [32.80, 51.79] | – | 50.0 | 0.500 | 55.0 | 10000 | study-flip-mask0.5")),
        md);
    assertTrue(
        md.contains(
            row(
                "0.75 | 128 | tiny-emoji | emoji-subgroup | unseen | 39.00 | [30.02, 48.80] | – | 30.0 | 0.300 | 35.0 | 10000 | study-flip-mask0.75")),
        md);
    assertTrue(
        md.contains(
            row(
                "0.50 | 128 | tiny-emoji | emoji-all | all | 61.00 | [51.20, 69.98] | – | 50.0 | 0.500 | 55.0")),
        md);
    // Table 1e: the gain of unmasked tuning, +-1.96 sqrt((p1 q1 + p2 q2) / n)
    assertTrue(
        md.contains(
            row(
                "0.50 | emoji-subgroup | unseen | 38.00 | 42.00 | 4.00 | [-9.57, 17.57] | study-flip-mask0.5")),
        md);
    assertTrue(
        md.contains(
            row(
                "0.75 | emoji-subgroup | unseen | 33.00 | 39.00 | 6.00 | [-7.28, 19.28] | study-flip-mask0.75")),
        md);
    // Table 1d: masked inference against full images
    assertTrue(
        md.contains(
            row(
                "0.00 | pretrained | emoji-subgroup | unseen | masked_0.50 | 30.00 | [21.89, 39.58] | -10.00 | study-flip-mask0.0")),
        md);
    assertTrue(
        md.contains(
            row(
                "0.75 | pretrained | emoji-subgroup | unseen | masked_0.50 | 35.00 | [26.36, 44.75] | 2.00 | study-flip-mask0.75")),
        md);
    // the run summary
    assertTrue(
        md.contains(
            row(
                "study-flip-mask0.75 | study-flip-mask0.75 | FINISHED | tiny-emoji | 0.75 | 128 | 30.0 | 5.0 |")),
        md);
    assertTrue(!md.contains("lone-mask0.5"), "a run outside the study is not in its report");
  }

  /** A study over the data axis also plots accuracy against the training set's size. */
  @Test
  void aDataSizeAxisGetsItsOwnPlot() throws Exception {
    Database db = pg.database();
    String study = "study-data";
    db.studies()
        .upsertStudy(new StudyStore.StudyRow(study, "data size", "wf", "equal_samples", "{}"));
    long[] sizes = {1408, 2816, 5630};
    for (int i = 0; i < sizes.length; i++) {
      String id = study + "-data" + sizes[i];
      record(db, study, id, new double[] {0.5, 50, 0, 0.20 + 0.05 * i, 0, 0.18});
      db.runs().setDataSamples(id, sizes[i]);
    }
    StudyReport.Written w =
        StudyReport.writeStudy(db, study, out, new StudyReport.Options(null, null, 800, 500));
    assertEquals(
        List.of(
            StudyReport.LOSS_PNG,
            StudyReport.TOP1_WALLCLOCK_PNG,
            StudyReport.TOP1_SAMPLES_PNG,
            StudyReport.TOP1_DATA_PNG),
        w.images().stream().map(p -> p.getFileName().toString()).toList());
    BufferedImage data = ImageIO.read(out.resolve(StudyReport.TOP1_DATA_PNG).toFile());
    assertTrue(
        colourPixels(data, ReportCharts.PALETTE[0]) > 150, "the mask-0.5 line over three sizes");
    assertTrue(
        Files.readString(w.markdown()).contains("](" + StudyReport.TOP1_DATA_PNG + ")"),
        "embedded in the report");
  }

  @Test
  void plotsTheChosenDataSetOnly() throws Exception {
    StudyReport.Written w =
        StudyReport.writeStudy(
            pg.database(), STUDY, out, new StudyReport.Options("emoji-all", null, 640, 400));
    assertEquals("all", w.split(), "the data set's only split");
    BufferedImage top1 = ImageIO.read(out.resolve(StudyReport.TOP1_WALLCLOCK_PNG).toFile());
    assertTrue(colourPixels(top1, ReportCharts.PALETTE[1]) > 50, "the 0.5 run's point");
    assertEquals(0, colourPixels(top1, ReportCharts.PALETTE[0]), "mask 0 has no emoji-all result");
    assertEquals(0, colourPixels(top1, ReportCharts.PALETTE[2]), "mask 0.75: no emoji-all result");
  }

  @Test
  void reportsRunsOutsideAStudy() throws Exception {
    StudyReport.Written w =
        StudyReport.writeRuns(
            pg.database(), List.of("lone-mask0.5"), out, StudyReport.Options.defaults());
    String md = Files.readString(w.markdown());
    assertTrue(md.startsWith("# FLIP runs"), md);
    // no unmasked run to compare with: the ratio is missing, not made up
    assertTrue(
        md.contains(
            row(
                "0.50 | 128 | tiny-emoji | emoji-subgroup | unseen | 25.00 | [17.55, 34.30] | – | 20.0 | – | 22.0 | 10000 | lone-mask0.5")),
        md);
    assertEquals(960, ImageIO.read(w.images().get(0).toFile()).getWidth());
  }

  @Test
  void badInputNamesWhatIsWrong() {
    IllegalArgumentException noStudy =
        assertThrows(
            IllegalArgumentException.class,
            () -> StudyReport.writeStudy(pg.database(), "no-such-study", out));
    assertTrue(noStudy.getMessage().contains("no-such-study"), noStudy.getMessage());
    IllegalArgumentException noRun =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                StudyReport.writeRuns(
                    pg.database(),
                    List.of("lone-mask0.5", "ghost"),
                    out,
                    StudyReport.Options.defaults()));
    assertTrue(noRun.getMessage().contains("[ghost]"), noRun.getMessage());
    IllegalArgumentException noData =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                StudyReport.writeStudy(
                    pg.database(),
                    STUDY,
                    out,
                    new StudyReport.Options("imagenet", null, 800, 500)));
    assertTrue(noData.getMessage().contains("imagenet"), noData.getMessage());
    assertTrue(noData.getMessage().contains("emoji-subgroup/unseen"), noData.getMessage());
    IllegalArgumentException noSplit =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                StudyReport.writeStudy(
                    pg.database(), STUDY, out, new StudyReport.Options(null, "seen", 800, 500)));
    assertTrue(noSplit.getMessage().contains("split seen"), noSplit.getMessage());
  }

  /** The start of a Markdown table row with these cells. */
  static String row(String cells) {
    return "| " + cells;
  }

  interface RgbTest {
    boolean test(int rgb);
  }

  static int countPixels(BufferedImage image, RgbTest test) {
    int n = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        if (test.test(image.getRGB(x, y) & 0xffffff)) {
          n++;
        }
      }
    }
    return n;
  }

  /** Pixels within a small distance of a colour (antialiased edges blend towards white). */
  static int colourPixels(BufferedImage image, Color colour) {
    return countPixels(
        image,
        rgb -> {
          int dr = ((rgb >> 16) & 0xff) - colour.getRed();
          int dg = ((rgb >> 8) & 0xff) - colour.getGreen();
          int db = (rgb & 0xff) - colour.getBlue();
          return dr * dr + dg * dg + db * db < 30 * 30;
        });
  }
}
