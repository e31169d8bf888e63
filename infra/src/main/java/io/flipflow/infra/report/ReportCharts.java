package io.flipflow.infra.report;

import io.flipflow.db.StudyRecord;
import io.flipflow.db.StudyRecord.LossPoint;
import io.flipflow.db.StudyRecord.Run;
import io.flipflow.db.StudyRecord.ZeroShot;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

/**
 * The report's three plots, drawn with JFreeChart. A mask ratio keeps its colour in every plot;
 * several runs of one ratio (other batch sizes, models or schedules) differ by dash.
 */
final class ReportCharts {
  /** Matplotlib's tab10 without its greys: saturated, far from the black, grey and white chrome. */
  static final Color[] PALETTE = {
    new Color(0x1f77b4),
    new Color(0xff7f0e),
    new Color(0x2ca02c),
    new Color(0xd62728),
    new Color(0x9467bd),
    new Color(0x8c564b),
    new Color(0xe377c2),
    new Color(0x17becf),
  };

  private static final float[][] DASHES = {null, {8f, 4f}, {2f, 3f}, {10f, 3f, 2f, 3f}};

  private ReportCharts() {}

  /** Mask ratios of the record, ascending; a ratio's index picks its colour. */
  static List<Double> maskRatios(StudyRecord record) {
    return List.copyOf(new TreeSet<>(record.runs().stream().map(Run::maskRatio).toList()));
  }

  static Color colorOf(List<Double> ratios, double maskRatio) {
    return PALETTE[ratios.indexOf(maskRatio) % PALETTE.length];
  }

  static String ratioLabel(double maskRatio) {
    return String.format(Locale.ROOT, "mask %.0f%%", maskRatio * 100);
  }

  /** (1) Training loss against seconds since pretraining began; tuning continues the line. */
  static void lossVsWallClock(StudyRecord record, Path png, int width, int height)
      throws IOException {
    List<Double> ratios = maskRatios(record);
    Map<String, List<LossPoint>> byRun = new LinkedHashMap<>();
    for (LossPoint p : record.loss()) {
      byRun.computeIfAbsent(p.runId(), k -> new ArrayList<>()).add(p);
    }
    XYSeriesCollection data = new XYSeriesCollection();
    List<Run> plotted = new ArrayList<>();
    Map<Double, Integer> seenOfRatio = new LinkedHashMap<>();
    List<Integer> dashOf = new ArrayList<>();
    for (Run run : record.runs()) {
      List<LossPoint> points = byRun.getOrDefault(run.runId(), List.of());
      if (points.isEmpty()) {
        continue;
      }
      double tuneOffset = pretrainSeconds(run, points);
      XYSeries series = new XYSeries(lossLabel(record, run), false, true);
      points.stream()
          .filter(p -> p.stage().equals(StudyRecord.PRETRAIN))
          .forEach(p -> series.add(p.wallSeconds(), p.loss()));
      points.stream()
          .filter(p -> p.stage().equals(StudyRecord.UNMASKED_TUNE))
          .forEach(p -> series.add(tuneOffset + p.wallSeconds(), p.loss()));
      data.addSeries(series);
      plotted.add(run);
      dashOf.add(seenOfRatio.merge(run.maskRatio(), 1, Integer::sum) - 1);
    }
    JFreeChart chart =
        ChartFactory.createXYLineChart(
            "Training loss against wall-clock",
            "wall-clock seconds (pretraining, then unmasked tuning)",
            "contrastive loss",
            data,
            PlotOrientation.VERTICAL,
            true,
            false,
            false);
    XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
    for (int i = 0; i < plotted.size(); i++) {
      renderer.setSeriesPaint(i, colorOf(ratios, plotted.get(i).maskRatio()));
      renderer.setSeriesStroke(i, stroke(dashOf.get(i)));
    }
    style(chart, renderer, "no loss recorded (table metrics)");
    ChartUtils.saveChartAsPNG(png.toFile(), chart, width, height);
  }

  /** (2) Zero-shot top-1 against training seconds (paper Figure 1): one line per mask ratio. */
  static void top1VsWallClock(
      StudyRecord record, String dataset, String split, Path png, int width, int height)
      throws IOException {
    top1Chart(
        record,
        dataset,
        split,
        "Zero-shot top-1 against training wall-clock",
        "training wall-clock seconds (pretraining + unmasked tuning)",
        run -> run.pretrainSeconds() == null ? Double.NaN : run.pretrainSeconds(),
        run -> run.tuneSeconds() == null ? Double.NaN : run.tuneSeconds(),
        png,
        width,
        height);
  }

  /** (3) Zero-shot top-1 against samples seen in training (paper Figure 3): per mask ratio. */
  static void top1VsSamplesSeen(
      StudyRecord record, String dataset, String split, Path png, int width, int height)
      throws IOException {
    top1Chart(
        record,
        dataset,
        split,
        "Zero-shot top-1 against samples seen",
        "samples seen in training (pretraining + unmasked tuning)",
        run -> run.pretrainSamples() == null ? Double.NaN : run.pretrainSamples(),
        run -> run.tuneSamples() == null ? Double.NaN : run.tuneSamples(),
        png,
        width,
        height);
  }

  /**
   * (4) Final zero-shot top-1 against the size of the training set (paper Figure 3's data axis):
   * one point per run, after tuning where it was tuned, one line per mask ratio.
   */
  static void top1VsDataSize(
      StudyRecord record, String dataset, String split, Path png, int width, int height)
      throws IOException {
    top1Chart(
        record,
        dataset,
        split,
        "Zero-shot top-1 against training-set size",
        "training samples used (distinct images)",
        run -> run.dataSamples() == null ? Double.NaN : run.dataSamples(),
        null,
        png,
        width,
        height);
  }

  /**
   * A run adds its point at the end of pretraining and, when tuned, one after tuning (x plus the
   * tuning's share), so a line shows both what masking bought and what tuning added; with no {@code
   * tuneX}, only its final point (tuned if it was). Each point carries its 95% interval over the
   * evaluation set as an error bar (none where unrecorded).
   */
  private static void top1Chart(
      StudyRecord record,
      String dataset,
      String split,
      String title,
      String xLabel,
      ToDoubleFunction<Run> pretrainX,
      ToDoubleFunction<Run> tuneX,
      Path png,
      int width,
      int height)
      throws IOException {
    List<Double> ratios = maskRatios(record);
    Map<String, Map<String, ZeroShot>> acc1 = new LinkedHashMap<>();
    for (ZeroShot z : record.zeroShot()) {
      if (z.dataset().equals(dataset) && z.split().equals(split)) {
        acc1.computeIfAbsent(z.runId(), k -> new LinkedHashMap<>()).put(z.phase(), z);
      }
    }
    YIntervalSeriesCollection data = new YIntervalSeriesCollection();
    List<Double> plottedRatios = new ArrayList<>();
    for (double ratio : ratios) {
      List<double[]> points = new ArrayList<>();
      for (Run run : record.runs()) {
        Map<String, ZeroShot> phases = acc1.get(run.runId());
        if (run.maskRatio() != ratio || phases == null) {
          continue;
        }
        double x = pretrainX.applyAsDouble(run);
        if (Double.isNaN(x)) {
          continue;
        }
        if (tuneX == null) {
          ZeroShot last =
              phases.getOrDefault(StudyRecord.TUNED, phases.get(StudyRecord.PRETRAINED));
          if (last != null) {
            points.add(point(x, last));
          }
          continue;
        }
        if (phases.containsKey(StudyRecord.PRETRAINED)) {
          points.add(point(x, phases.get(StudyRecord.PRETRAINED)));
        }
        double tune = tuneX.applyAsDouble(run);
        if (phases.containsKey(StudyRecord.TUNED)) {
          double xTuned = x + (Double.isNaN(tune) ? 0 : tune);
          points.add(point(xTuned, phases.get(StudyRecord.TUNED)));
        }
      }
      if (points.isEmpty()) {
        continue;
      }
      points.sort(Comparator.comparingDouble(p -> p[0]));
      YIntervalSeries series = new YIntervalSeries(ratioLabel(ratio), false, true);
      points.forEach(p -> series.add(p[0], p[1], p[2], p[3]));
      data.addSeries(series);
      plottedRatios.add(ratio);
    }
    JFreeChart chart =
        ChartFactory.createXYLineChart(
            title, xLabel, "zero-shot top-1 %", data, PlotOrientation.VERTICAL, true, false, false);
    chart.addSubtitle(
        new TextTitle(
            dataset
                + " / "
                + split
                + (tuneX == null
                    ? "  ·  points: the final model of each run"
                    : "  ·  points: end of pretraining, after unmasked tuning")
                + "  ·  bars: 95% interval",
            new Font(Font.SANS_SERIF, Font.PLAIN, 12)));
    XYErrorRenderer renderer = new XYErrorRenderer();
    renderer.setDefaultLinesVisible(true);
    renderer.setDrawXError(false);
    renderer.setCapLength(6);
    for (int i = 0; i < plottedRatios.size(); i++) {
      renderer.setSeriesPaint(i, colorOf(ratios, plottedRatios.get(i)));
      renderer.setSeriesStroke(i, stroke(0));
      renderer.setSeriesShape(i, new java.awt.geom.Ellipse2D.Double(-5, -5, 10, 10));
    }
    style(chart, renderer, "no zero-shot result for " + dataset + " / " + split);
    ((NumberAxis) chart.getXYPlot().getDomainAxis())
        .setNumberFormatOverride(new DecimalFormat("#,##0.#"));
    ChartUtils.saveChartAsPNG(png.toFile(), chart, width, height);
  }

  /** x, top-1 %, and its interval in %; a point without one has a bar of zero length. */
  private static double[] point(double x, ZeroShot z) {
    double y = z.acc1() * 100;
    return new double[] {
      x,
      y,
      z.acc1Low() == null ? y : z.acc1Low() * 100,
      z.acc1High() == null ? y : z.acc1High() * 100
    };
  }

  private static String lossLabel(StudyRecord record, Run run) {
    long sameRatio = record.runs().stream().filter(r -> r.maskRatio() == run.maskRatio()).count();
    String label = ratioLabel(run.maskRatio());
    return sameRatio == 1 ? label : label + " · " + run.runId();
  }

  /** Tuning's clock starts at zero: it is drawn after pretraining's recorded (or last) second. */
  private static double pretrainSeconds(Run run, List<LossPoint> points) {
    if (run.pretrainSeconds() != null) {
      return run.pretrainSeconds();
    }
    return points.stream()
        .filter(p -> p.stage().equals(StudyRecord.PRETRAIN))
        .mapToDouble(LossPoint::wallSeconds)
        .max()
        .orElse(0);
  }

  private static BasicStroke stroke(int dash) {
    float[] pattern = DASHES[dash % DASHES.length];
    return new BasicStroke(2.5f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 10f, pattern, 0f);
  }

  private static void style(JFreeChart chart, XYLineAndShapeRenderer renderer, String noData) {
    chart.setBackgroundPaint(Color.WHITE);
    chart.getLegend().setPosition(RectangleEdge.BOTTOM);
    XYPlot plot = chart.getXYPlot();
    plot.setRenderer(renderer);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(new Color(0xdddddd));
    plot.setRangeGridlinePaint(new Color(0xdddddd));
    plot.setNoDataMessage(noData);
    ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
  }
}
