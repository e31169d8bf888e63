package io.flipflow.infra.bench;

import ai.djl.ndarray.NDManager;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.train.ClipTrainer;
import io.flipflow.activities.train.SyntheticBatchSource;
import io.flipflow.workflows.plan.TrainConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * FLIP's other half of the argument: at equal memory, masking fits a bigger batch. For each mask
 * ratio, the peak resident memory of a training step is measured at two batch sizes (the peak is
 * reset between measurements through /proc/self/clear_refs), a line mem = fixed + perSample * batch
 * is fitted, and the largest batch that fits the memory mask 0 needs at the reference batch is
 * reported. CPU memory stands in for GPU memory here; the method is the same.
 */
public final class EqualMemoryBenchmark {
  public record Result(
      double maskRatio,
      double fixedMiB,
      double perSampleMiB,
      int largestBatch,
      double vsUnmasked) {}

  private EqualMemoryBenchmark() {}

  public static List<Result> run(
      String presetName, int referenceBatch, double[] maskRatios, PrintStream out) {
    if (referenceBatch < 4) {
      throw new IllegalArgumentException(
          "referenceBatch must be at least 4, got " + referenceBatch);
    }
    ModelPreset preset = ModelPreset.load(presetName);
    int small = referenceBatch / 2;
    int large = referenceBatch;
    double[][] mib = new double[maskRatios.length][2];
    // the largest footprints last, so memory an allocator keeps from an earlier step never
    // exceeds what the current one needs
    for (int i = maskRatios.length - 1; i >= 0; i--) {
      mib[i][0] = peakMiB(preset, maskRatios[i], small);
      mib[i][1] = peakMiB(preset, maskRatios[i], large);
    }
    List<Result> results = new ArrayList<>();
    double slope0 = Math.max(1e-6, (mib[0][1] - mib[0][0]) / (large - small));
    double budget = mib[0][1];
    int base = 0;
    for (int i = 0; i < maskRatios.length; i++) {
      double slope = Math.max(1e-6, (mib[i][1] - mib[i][0]) / (large - small));
      double fixed = mib[i][1] - slope * large;
      int largest = (int) Math.max(0, Math.floor((budget - fixed) / slope));
      if (i == 0) {
        base = Math.max(1, largest);
      }
      results.add(new Result(maskRatios[i], fixed, slope, largest, largest / (double) base));
    }
    out.printf(
        "equal-memory benchmark: preset %s, budget = mask 0 at batch %d = %.0f MiB peak RSS%n",
        preset.name(), referenceBatch, budget);
    out.printf(
        "%-6s %-12s %-14s %-14s %-8s%n",
        "mask", "fixed MiB", "MiB/sample", "largest batch", "vs mask 0");
    for (Result r : results) {
      out.printf(
          "%-6.2f %-12.0f %-14.2f %-14d %-8.2f%n",
          r.maskRatio(), r.fixedMiB(), r.perSampleMiB(), r.largestBatch(), r.vsUnmasked());
    }
    if (slope0 <= 1e-6) {
      out.println("note: memory did not grow with the batch here; the figures are not meaningful");
    }
    return results;
  }

  /** Peak RSS of two training steps at this ratio and batch, after resetting the peak. */
  static double peakMiB(ModelPreset preset, double maskRatio, int batch) {
    TrainConfig config =
        new TrainConfig(
            preset.name(),
            maskRatio,
            batch,
            1_000,
            1e-4,
            0,
            0.2,
            0.9,
            0.95,
            1e-6,
            0,
            0,
            1_000,
            1_000,
            null,
            null,
            null,
            null,
            null);
    SyntheticBatchSource data =
        new SyntheticBatchSource(preset, SyntheticBatchSource.MAX_DISTINCT_PAIRS);
    try (ClipTrainer trainer = ClipTrainer.create(config, preset)) {
      System.gc();
      resetPeak();
      for (int s = 0; s < 2; s++) {
        try (NDManager step = NDManager.newBaseManager(trainer.devices().get(0))) {
          trainer.trainStep(data.next(step, batch), maskRatio, 1e-4, step);
        }
      }
      return MaskingBenchmark.peakRssKib() / 1024.0;
    }
  }

  /** Linux: writing 5 to clear_refs resets VmHWM to the current resident size. */
  static void resetPeak() {
    try {
      Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    } catch (IOException | RuntimeException e) {
      // not Linux: the peak then only grows, and the fit is rougher
    }
  }
}
