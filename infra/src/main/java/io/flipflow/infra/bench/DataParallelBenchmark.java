package io.flipflow.infra.bench;

import io.flipflow.activities.engine.NativeTorch;
import io.flipflow.activities.engine.ProcessGroup;
import io.flipflow.activities.engine.TcpStore;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.train.ClipTrainer;
import io.flipflow.activities.train.RankGroup;
import io.flipflow.activities.train.SyntheticBatchSource;
import io.flipflow.workflows.plan.TrainConfig;
import io.flipflow.workflows.plan.TrainConfigBuilder;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Data-parallel scaling on one machine: the same global batch trained by 1 process with all the
 * cores, then by R processes (ranks over Gloo on 127.0.0.1) with cores / R threads each,
 * alternating the configurations every round. Reports samples/s (median over rounds of each round's
 * median step), the scaling efficiency against one rank (1.0 would mean the collectives and the
 * duplicated per-rank work cost nothing), and the milliseconds per step in the embeddings'
 * all-gather plus the gradient all-reduce.
 *
 * <p>Each rank is a fresh JVM ({@link #main}) on this process's classpath, as a worker process per
 * device would be; rank 0 prints its figures as one {@code RESULT} line.
 */
public final class DataParallelBenchmark {

  /** One configuration's figures. */
  public record Result(
      int ranks,
      int threadsPerRank,
      double samplesPerSecond,
      double minSamplesPerSecond,
      double maxSamplesPerSecond,
      double efficiency,
      double collectiveMillisPerStep) {}

  private DataParallelBenchmark() {}

  public static List<Result> run(
      String presetName,
      int batch,
      double maskRatio,
      int[] ranks,
      int rounds,
      int steps,
      int warmup,
      PrintStream out)
      throws IOException, InterruptedException {
    int cores = Runtime.getRuntime().availableProcessors();
    for (int r : ranks) {
      if (r < 1 || batch % r != 0 || cores % r != 0) {
        throw new IllegalArgumentException(
            "--ranks: " + r + " must divide the batch " + batch + " and the " + cores + " cores");
      }
    }
    if (warmup >= steps) {
      throw new IllegalArgumentException("--warmup must be below --steps");
    }
    NativeTorch.requireAvailable();
    out.printf(
        "data-parallel benchmark: preset %s, global batch %d, mask %.2f, %d cores, ranks %s,"
            + " %d rounds of %d steps (first %d untimed), alternating%n",
        presetName,
        batch,
        maskRatio,
        cores,
        java.util.Arrays.toString(ranks),
        rounds,
        steps,
        warmup);
    double[][] stepMillis = new double[ranks.length][rounds];
    double[][] collective = new double[ranks.length][rounds];
    for (int round = 0; round < rounds; round++) {
      for (int k = 0; k < ranks.length; k++) {
        int i = (k + round) % ranks.length; // rotate which configuration goes first
        double[] r =
            runOnce(presetName, batch, maskRatio, ranks[i], cores / ranks[i], steps, warmup);
        stepMillis[i][round] = r[0];
        collective[i][round] = r[1];
        out.printf(
            "  round %d, %d rank(s) x %d thread(s): %.0f ms per step, %.1f ms in collectives%n",
            round + 1, ranks[i], cores / ranks[i], r[0], r[1]);
      }
    }
    List<Result> results = new ArrayList<>();
    double base = batch * 1000.0 / MaskingBenchmark.median(stepMillis[0]);
    out.printf(
        "%-6s %-14s %-12s %-16s %-11s %-16s%n",
        "ranks", "threads/rank", "samples/s", "(min-max)", "efficiency", "collective ms");
    for (int i = 0; i < ranks.length; i++) {
      double rate = batch * 1000.0 / MaskingBenchmark.median(stepMillis[i]);
      double lo = Double.MAX_VALUE;
      double hi = 0;
      for (double ms : stepMillis[i]) {
        lo = Math.min(lo, batch * 1000.0 / ms);
        hi = Math.max(hi, batch * 1000.0 / ms);
      }
      Result r =
          new Result(
              ranks[i],
              cores / ranks[i],
              rate,
              lo,
              hi,
              rate / base,
              MaskingBenchmark.median(collective[i]));
      results.add(r);
      out.printf(
          "%-6d %-14d %-12.1f %-16s %-11.2f %-16.1f%n",
          r.ranks(),
          r.threadsPerRank(),
          r.samplesPerSecond(),
          String.format("%.1f-%.1f", lo, hi),
          r.efficiency(),
          r.collectiveMillisPerStep());
    }
    return results;
  }

  /** One configuration once: rank 0's median step and collective milliseconds per timed step. */
  private static double[] runOnce(
      String preset, int batch, double mask, int world, int threads, int steps, int warmup)
      throws IOException, InterruptedException {
    int port;
    try (ServerSocket probe = new ServerSocket(0)) { // a free port for rank 0's store
      port = probe.getLocalPort();
    }
    List<Process> processes = new ArrayList<>();
    Path log = Files.createTempFile("flipflow-data-parallel-", ".log");
    try {
      for (int rank = 0; rank < world; rank++) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx2g");
        cmd.add("-XX:MaxDirectMemorySize=256m");
        cmd.add("-Dai.djl.offline=true");
        cmd.add("-Dai.djl.pytorch.num_threads=" + threads);
        cmd.add("-Dai.djl.pytorch.num_interop_threads=1");
        cmd.add("-D" + NativeTorch.LIBRARY_PROPERTY + "=" + NativeTorch.libraryPath());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(DataParallelBenchmark.class.getName());
        for (Object a : List.of(port, rank, world, preset, batch, mask, steps, warmup)) {
          cmd.add(String.valueOf(a));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.redirectOutput(
            rank == 0 ? ProcessBuilder.Redirect.to(log.toFile()) : ProcessBuilder.Redirect.DISCARD);
        processes.add(pb.start());
      }
      for (Process p : processes) {
        if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
          throw new IllegalStateException(
              "a rank failed; rank 0's output:\n" + Files.readString(log, StandardCharsets.UTF_8));
        }
      }
      for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
        if (line.startsWith("RESULT ")) {
          String[] f = line.split(" ");
          return new double[] {Double.parseDouble(f[1]), Double.parseDouble(f[2])};
        }
      }
      throw new IllegalStateException("rank 0 printed no RESULT:\n" + Files.readString(log));
    } finally {
      for (Process p : processes) {
        p.destroyForcibly();
      }
      Files.deleteIfExists(log);
    }
  }

  /** A rank: {@code PORT RANK WORLD PRESET BATCH MASK STEPS WARMUP}. */
  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    int rank = Integer.parseInt(args[1]);
    int world = Integer.parseInt(args[2]);
    ModelPreset preset = ModelPreset.load(args[3]);
    int batch = Integer.parseInt(args[4]);
    double mask = Double.parseDouble(args[5]);
    int steps = Integer.parseInt(args[6]);
    int warmup = Integer.parseInt(args[7]);
    TrainConfig config =
        TrainConfigBuilder.builder()
            .preset(preset.name())
            .maskRatio(mask)
            .batchSize(batch)
            .totalSteps(steps)
            .baseLearningRate(5e-4)
            .warmupSteps(0)
            .weightDecay(0.2)
            .beta1(0.9)
            .beta2(0.95)
            .epsilon(1e-6)
            .gradClipNorm(0)
            .seed(0)
            .checkpointEvery(1_000_000)
            .metricsEvery(1)
            .build();
    Path dir = Files.createTempDirectory("flipflow-rank-" + rank + "-");
    List<Double> millis = new ArrayList<>();
    RankGroup ranks = null;
    TcpStore store = null;
    ProcessGroup group = null;
    try (ClipTrainer trainer = ClipTrainer.create(config, preset)) {
      if (world > 1) {
        store = NativeTorch.rendezvous("127.0.0.1", port, rank, world, Duration.ofMinutes(2));
        group = store.processGroup(ProcessGroup.Backend.GLOO, "127.0.0.1");
        ranks = new RankGroup(group);
        trainer.withRanks(ranks);
      }
      double[] collectiveAtWarmup = new double[1];
      RankGroup counted = ranks;
      trainer.run(
          new SyntheticBatchSource(preset, SyntheticBatchSource.MAX_DISTINCT_PAIRS),
          dir,
          m -> {
            if (m.step() == warmup && counted != null) {
              collectiveAtWarmup[0] = counted.collectiveMillis();
            }
            if (m.step() > warmup) {
              millis.add(m.stepMillis());
            }
          },
          () -> false);
      if (rank == 0) {
        double[] timed = millis.stream().mapToDouble(Double::doubleValue).toArray();
        double collectivePerStep =
            ranks == null ? 0 : (ranks.collectiveMillis() - collectiveAtWarmup[0]) / timed.length;
        System.out.println("RESULT " + MaskingBenchmark.median(timed) + " " + collectivePerStep);
      }
    } finally {
      if (group != null) {
        group.close();
      }
      if (store != null) {
        store.close();
      }
    }
    System.exit(0);
  }
}
