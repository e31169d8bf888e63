package io.flipflow.infra.bench;

import ai.djl.ndarray.NDManager;
import io.flipflow.activities.device.Devices;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.train.Batch;
import io.flipflow.activities.train.ClipTrainer;
import io.flipflow.activities.train.SyntheticBatchSource;
import io.flipflow.workflows.plan.TrainConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code flipflow bench masking}: training-step time (forward, backward, AdamW) at several mask
 * ratios on one model and batch size, in one process. Configurations alternate round by round (the
 * starting ratio rotates) and medians are reported, because timings on a shared machine are noisy.
 * FLIP reports 0.50 and 0.33 of the unmasked time at masks 0.5 and 0.75.
 */
public final class MaskingBenchmark {

  /** One mask ratio's figures; {@code ratioToFirst} is relative to the first ratio given. */
  public record Result(
      double maskRatio,
      int keptTokens,
      double medianStepMillis,
      double samplesPerSecond,
      double ratioToFirst,
      double medianForwardMillis,
      double medianBackwardMillis,
      double medianOptimizerMillis) {}

  public record Report(
      String preset, int batchSize, int rounds, List<Result> results, long peakRssKib) {}

  private MaskingBenchmark() {}

  /** Runs the benchmark (one untimed warm-up round) and prints a table to {@code out}. */
  public static Report run(
      String presetName, int batchSize, int rounds, double[] maskRatios, PrintStream out) {
    return run(presetName, batchSize, 1, rounds, maskRatios, out);
  }

  /**
   * As above with {@code warmupRounds} untimed rounds first: the first steps of a fresh model
   * allocate (PyTorch's CPU allocator caches after that), so they would flatter no one.
   */
  public static Report run(
      String presetName,
      int batchSize,
      int warmupRounds,
      int rounds,
      double[] maskRatios,
      PrintStream out) {
    return run(
        presetName, batchSize, warmupRounds, rounds, maskRatios, List.of(Devices.cpu()), out);
  }

  /** As above on {@code devices} (the one device the trainer runs on: see {@link ClipTrainer}). */
  public static Report run(
      String presetName,
      int batchSize,
      int warmupRounds,
      int rounds,
      double[] maskRatios,
      List<ai.djl.Device> devices,
      PrintStream out) {
    if (warmupRounds < 1) {
      throw new IllegalArgumentException("warmupRounds must be at least 1, got " + warmupRounds);
    }
    if (rounds <= 0) {
      throw new IllegalArgumentException("rounds must be positive, got " + rounds);
    }
    if (maskRatios.length == 0) {
      throw new IllegalArgumentException("maskRatios must not be empty");
    }
    TrainConfig config =
        new TrainConfig(
            presetName,
            0,
            batchSize,
            1_000_000,
            1e-4,
            0,
            0.2,
            0.9,
            0.95,
            1e-6,
            0,
            0,
            1_000_000,
            1_000_000,
            null,
            null,
            null,
            null,
            null);
    ModelPreset preset = ModelPreset.load(config.validate().preset());
    for (double r : maskRatios) {
      if (!(r >= 0 && r < 1)) {
        throw new IllegalArgumentException("maskRatios: " + r + " is not in [0, 1)");
      }
    }
    double[][] millis = new double[maskRatios.length][rounds];
    double[][][] phases = new double[3][maskRatios.length][rounds]; // forward, backward, AdamW
    SyntheticBatchSource data =
        new SyntheticBatchSource(preset, SyntheticBatchSource.MAX_DISTINCT_PAIRS);
    out.printf(
        "masking benchmark: preset %s (%d patches), batch %d, %d rounds, %s threads, on %s%n",
        preset.name(),
        preset.numPatches(),
        batchSize,
        rounds,
        System.getProperty("ai.djl.pytorch.num_threads", "default"),
        devices.stream().map(Devices::name).toList());
    if (System.getenv("OMP_WAIT_POLICY") == null) {
      // measured here: on a shared 2-core machine, libgomp's default spinning made steps 2-5x
      // slower and the ratios erratic; PASSIVE must be set before the process starts
      out.println("note: OMP_WAIT_POLICY is unset; on a busy machine set OMP_WAIT_POLICY=PASSIVE");
    }
    try (ClipTrainer trainer = ClipTrainer.create(config, preset, devices)) {
      // negative rounds warm up every configuration
      for (int round = -warmupRounds; round < rounds; round++) {
        for (int i = 0; i < maskRatios.length; i++) {
          int which = (i + Math.max(round, 0)) % maskRatios.length;
          try (NDManager step = NDManager.newBaseManager(trainer.devices().get(0))) {
            Batch batch = data.next(step, batchSize);
            long started = System.nanoTime();
            ClipTrainer.StepResult t = trainer.trainStep(batch, maskRatios[which], 1e-4, step);
            double elapsed = (System.nanoTime() - started) / 1e6;
            if (round >= 0) {
              millis[which][round] = elapsed;
              phases[0][which][round] = t.forwardMillis();
              phases[1][which][round] = t.backwardMillis();
              phases[2][which][round] = t.optimizerMillis();
            }
          }
        }
      }
    }
    List<Result> results = new ArrayList<>();
    double base = median(millis[0]);
    for (int i = 0; i < maskRatios.length; i++) {
      double med = median(millis[i]);
      results.add(
          new Result(
              maskRatios[i],
              io.flipflow.activities.model.PatchMasking.keptTokens(
                  preset.numPatches(), maskRatios[i]),
              med,
              batchSize * 1000.0 / med,
              med / base,
              median(phases[0][i]),
              median(phases[1][i]),
              median(phases[2][i])));
    }
    long rss = peakRssKib();
    out.printf(
        "%-6s %-6s %-12s %-10s %-8s %-11s %-12s %-9s%n",
        "mask", "kept", "median ms", "samples/s", "ratio", "forward ms", "backward ms", "AdamW ms");
    for (Result r : results) {
      out.printf(
          "%-6.2f %-6d %-12.1f %-10.1f %-8.2f %-11.1f %-12.1f %-9.1f%n",
          r.maskRatio(),
          r.keptTokens(),
          r.medianStepMillis(),
          r.samplesPerSecond(),
          r.ratioToFirst(),
          r.medianForwardMillis(),
          r.medianBackwardMillis(),
          r.medianOptimizerMillis());
    }
    out.printf("peak RSS %.0f MiB%n", rss / 1024.0);
    return new Report(preset.name(), batchSize, rounds, results, rss);
  }

  /** VmHWM from /proc/self/status (peak resident set), or -1 where there is no procfs. */
  public static long peakRssKib() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
    return -1;
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  /**
   * Arguments: [preset=tiny-emoji] [batch=128] [rounds=9] [ratios=0,0.5,0.75] [devices=cpu, e.g.
   * cuda:0 or cuda:0,cuda:1].
   */
  public static void main(String[] args) {
    String preset = args.length > 0 ? args[0] : "tiny-emoji";
    int batch = args.length > 1 ? Integer.parseInt(args[1]) : 128;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 9;
    double[] ratios =
        args.length > 3
            ? Arrays.stream(args[3].split(",")).mapToDouble(Double::parseDouble).toArray()
            : new double[] {0, 0.5, 0.75};
    List<ai.djl.Device> devices =
        Devices.parseList(args.length > 4 ? args[4] : "cpu", "devices (5th argument)");
    run(preset, batch, 1, rounds, ratios, devices, System.out);
  }
}
