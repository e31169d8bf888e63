package io.flipflow.infra.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A smoke run of the benchmark's mechanics on a micro preset; the figures are not asserted. */
class MaskingBenchmarkTest {

  @Test
  void reportsOneRowPerRatioRelativeToTheFirst(@TempDir Path dir) throws Exception {
    Path preset = microPreset(dir);
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    MaskingBenchmark.Report report =
        MaskingBenchmark.run(
            preset.toString(), 8, 2, new double[] {0, 0.5, 0.75}, new PrintStream(text));
    assertEquals(3, report.results().size());
    assertEquals(1.0, report.results().get(0).ratioToFirst(), 1e-12);
    assertEquals(16, report.results().get(0).keptTokens());
    assertEquals(8, report.results().get(1).keptTokens());
    assertEquals(4, report.results().get(2).keptTokens());
    assertTrue(report.results().get(2).medianStepMillis() > 0);
    for (MaskingBenchmark.Result r : report.results()) {
      double phases =
          r.medianForwardMillis() + r.medianBackwardMillis() + r.medianOptimizerMillis();
      assertTrue(
          r.medianForwardMillis() > 0
              && r.medianBackwardMillis() > 0
              && r.medianOptimizerMillis() > 0,
          r.toString());
      // medians of parts need not add up exactly, but the phases are the whole step
      assertTrue(
          phases <= r.medianStepMillis() * 1.5 && phases >= r.medianStepMillis() * 0.5,
          r.toString());
    }
    assertTrue(text.toString().contains("AdamW ms"), text.toString());
    assertTrue(report.peakRssKib() > 0);
    assertTrue(text.toString().contains("peak RSS"), text.toString());
  }

  /** A 32 px, 2-layer preset file, small enough for a benchmark's mechanics in a test. */
  static Path microPreset(Path dir) throws java.io.IOException {
    Path preset = dir.resolve("micro.json");
    Files.writeString(
        preset,
        "{\"name\":\"test-micro\",\"imageSize\":32,\"patchSize\":8,\"visionWidth\":64,"
            + "\"visionLayers\":2,\"visionHeads\":2,\"mlpRatio\":2.0,\"embedDim\":32,"
            + "\"vocabSize\":32,\"contextLength\":8,\"textWidth\":64,\"textLayers\":2,"
            + "\"textHeads\":2,\"textPooling\":\"eot\"}");
    return preset;
  }

  @Test
  void medianOfOddAndEvenCounts() {
    assertEquals(2.0, MaskingBenchmark.median(new double[] {3, 1, 2}));
    assertEquals(2.5, MaskingBenchmark.median(new double[] {4, 1, 3, 2}));
  }
}
