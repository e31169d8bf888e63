package io.flipflow.infra.cli;

import com.google.gson.JsonObject;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.StagedManifest;
import io.flipflow.activities.device.Devices;
import io.flipflow.infra.bench.DataParallelBenchmark;
import io.flipflow.infra.bench.EqualMemoryBenchmark;
import io.flipflow.infra.bench.MaskingBenchmark;
import io.flipflow.infra.bench.OpenClipComparison;
import io.flipflow.infra.bench.OrchestrationOverhead;
import io.flipflow.infra.bench.StagingBenchmark;
import io.flipflow.infra.bench.StagingFanOutBenchmark;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.Services;
import io.flipflow.infra.config.TemporalConnection;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description =
        "Benchmarks (not timed tests): printed, and recorded in Postgres's benchmarks table with"
            + " the machine they ran on when the database is reachable.",
    subcommands = {
      BenchCommand.Masking.class,
      BenchCommand.EqualMemory.class,
      BenchCommand.Staging.class,
      BenchCommand.OpenClip.class,
      BenchCommand.Orchestration.class,
      BenchCommand.DataParallel.class
    })
public final class BenchCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** e.g. "2 cores, 23 GiB, Intel(R) Xeon(R) ... , Linux 6.1". */
  static String machine() {
    String cpu = "unknown CPU";
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          cpu = line.substring(line.indexOf(':') + 1).trim();
          break;
        }
      }
    } catch (IOException ignored) {
      // not Linux: the core count still says something
    }
    long mem = Runtime.getRuntime().maxMemory() >> 30;
    return String.format(
        "%d cores, %s, JVM max heap %d GiB, %s %s",
        Runtime.getRuntime().availableProcessors(),
        cpu,
        mem,
        System.getProperty("os.name"),
        System.getProperty("os.version"));
  }

  /** Best effort: a benchmark's figures are printed even when Postgres is not there. */
  static void record(String name, Map<String, Object> params, Map<String, Double> metrics) {
    FlipflowConfig config = FlipflowCommand.config();
    String benchId = name + "-" + UUID.randomUUID();
    JsonObject p = new JsonObject();
    params.forEach((k, v) -> p.addProperty(k, String.valueOf(v)));
    try {
      Services.database(config)
          .benchmarks()
          .record(benchId, name, machine(), p.toString(), metrics);
      System.out.println("recorded in benchmarks as " + benchId);
    } catch (Exception e) {
      System.out.println("(not recorded: " + e.getMessage() + ")");
    }
  }

  @Command(
      name = "masking",
      mixinStandardHelpOptions = true,
      description =
          "Step time and samples/s at mask 0, 0.5, 0.75 at equal batch, alternating the ratios"
              + " each round, medians, as ratios of the unmasked step (paper: 0.50 and 0.33).")
  static final class Masking implements Runnable {
    @Option(names = "--preset", defaultValue = "tiny-emoji")
    String preset;

    @Option(names = "--batch", defaultValue = "128")
    int batch;

    @Option(names = "--rounds", defaultValue = "9")
    int rounds;

    @Option(names = "--devices", defaultValue = "cpu", description = "cpu or cuda:N.")
    String devices;

    @Override
    public void run() {
      MaskingBenchmark.Report r =
          MaskingBenchmark.run(
              preset,
              batch,
              1,
              rounds,
              new double[] {0, 0.5, 0.75},
              Devices.parseList(devices, "--devices"),
              System.out);
      Map<String, Double> m = new LinkedHashMap<>();
      for (MaskingBenchmark.Result x : r.results()) {
        String k = String.format(Locale.ROOT, "mask%.2f", x.maskRatio());
        m.put(k + "_step_ms", x.medianStepMillis());
        m.put(k + "_samples_per_s", x.samplesPerSecond());
        m.put(k + "_time_ratio", x.ratioToFirst());
      }
      m.put("peak_rss_mib", r.peakRssKib() / 1024.0);
      record(
          "masking",
          Map.of("preset", preset, "batch", batch, "rounds", rounds, "devices", devices),
          m);
    }
  }

  @Command(
      name = "data-parallel",
      mixinStandardHelpOptions = true,
      description =
          "The same global batch trained by 1 process with every core and by R ranks (c10d over"
              + " Gloo on this machine) with cores/R threads each, alternating: samples/s, scaling"
              + " efficiency, milliseconds per step in collectives. Needs the native extension.")
  static final class DataParallel implements Runnable {
    @Option(names = "--preset", defaultValue = "tiny-emoji")
    String preset;

    @Option(names = "--batch", defaultValue = "128", description = "Global batch.")
    int batch;

    @Option(names = "--mask", defaultValue = "0.5")
    double mask;

    @Option(names = "--ranks", defaultValue = "1,2", split = ",", description = "World sizes.")
    int[] ranks;

    @Option(names = "--rounds", defaultValue = "3")
    int rounds;

    @Option(names = "--steps", defaultValue = "8", description = "Steps per run, warm-up included.")
    int steps;

    @Option(names = "--warmup", defaultValue = "2", description = "First steps left out.")
    int warmup;

    @Override
    public void run() {
      List<DataParallelBenchmark.Result> r;
      try {
        r =
            DataParallelBenchmark.run(
                preset, batch, mask, ranks, rounds, steps, warmup, System.out);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
      Map<String, Double> m = new LinkedHashMap<>();
      for (DataParallelBenchmark.Result x : r) {
        String k = "ranks" + x.ranks();
        m.put(k + "_samples_per_s", x.samplesPerSecond());
        m.put(k + "_efficiency", x.efficiency());
        m.put(k + "_collective_ms_per_step", x.collectiveMillisPerStep());
      }
      record(
          "data-parallel",
          Map.of("preset", preset, "batch", batch, "mask", mask, "rounds", rounds, "steps", steps),
          m);
    }
  }

  @Command(
      name = "equal-memory",
      mixinStandardHelpOptions = true,
      description =
          "The largest batch that fits, at mask 0, 0.5 and 0.75, in the memory mask 0 needs at the"
              + " reference batch (FLIP's bigger batches at equal memory).")
  static final class EqualMemory implements Runnable {
    @Option(names = "--preset", defaultValue = "tiny-emoji")
    String preset;

    @Option(names = "--batch", defaultValue = "128", description = "Reference batch at mask 0.")
    int batch;

    @Override
    public void run() {
      List<EqualMemoryBenchmark.Result> r =
          EqualMemoryBenchmark.run(preset, batch, new double[] {0, 0.5, 0.75}, System.out);
      Map<String, Double> m = new LinkedHashMap<>();
      for (EqualMemoryBenchmark.Result x : r) {
        String k = String.format(Locale.ROOT, "mask%.2f", x.maskRatio());
        m.put(k + "_largest_batch", (double) x.largestBatch());
        m.put(k + "_mib_per_sample", x.perSampleMiB());
        m.put(k + "_vs_unmasked", x.vsUnmasked());
      }
      record("equal-memory", Map.of("preset", preset, "reference_batch", batch), m);
    }
  }

  @Command(
      name = "staging",
      mixinStandardHelpOptions = true,
      description =
          "Staging throughput (download, whole staging, staged reader) against `aws s3 cp` of the"
              + " same shards, alternating, medians.")
  static final class Staging implements Runnable {
    @Option(
        names = "--source",
        defaultValue = "s3://flipflow/emoji/train/",
        description = "Shards to stage (default: ${DEFAULT-VALUE}).")
    String source;

    @Option(names = "--tokenizer", description = "tokenizer.json (default: beside the shards).")
    String tokenizer;

    @Option(names = "--rounds", defaultValue = "3")
    int rounds;

    @Option(
        names = "--synthetic",
        defaultValue = "0",
        description =
            "Instead: generate this many samples (written once, reused) and compare fanned-out"
                + " staging in 1 and 2 worker processes of 1 thread each.")
    int synthetic;

    @Option(
        names = "--resolution",
        defaultValue = "224",
        description =
            "Side of the synthetic images and of their staging (default: ${DEFAULT-VALUE}).")
    int resolution;

    @Option(
        names = "--format",
        defaultValue = "ENCODED",
        description =
            "Staged record format with --synthetic: ENCODED or RAW (default: ${DEFAULT-VALUE}).")
    StagedManifest.Format format;

    @Option(
        names = "--samples-per-shard",
        defaultValue = "1000",
        description = "Synthetic samples per shard (default: ${DEFAULT-VALUE}).")
    int samplesPerShard;

    @Override
    public void run() {
      FlipflowConfig config = FlipflowCommand.config();
      if (synthetic > 0) {
        runSynthetic(config);
        return;
      }
      S3Uri src = S3Uri.parse(source);
      S3Uri tok =
          tokenizer != null
              ? S3Uri.parse(tokenizer)
              : (src.isBracePattern() ? src.parent() : src).parent().resolve("tokenizer.json");
      try {
        Path work = Files.createTempDirectory(Files.createDirectories(config.stateDir()), "bench-");
        StagingBenchmark.Options d =
            StagingBenchmark.Options.defaults(
                source, tok, S3Uri.parse("s3://" + config.s3Bucket() + "/bench-scratch/"), work);
        StagingBenchmark.Options o =
            new StagingBenchmark.Options(
                d.source(),
                d.tokenizer(),
                d.scratch(),
                d.resolution(),
                d.contextLength(),
                d.parallelism(),
                rounds,
                d.readerBatchSize(),
                d.readerBatches(),
                d.workDir(),
                d.awsCli());
        StagingBenchmark.Figures f = StagingBenchmark.run(Services.s3(config), o);
        System.out.println(f.format());
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("download_MBps", f.downloadMBps());
        m.put("aws_s3_cp_MBps", f.awsCpMBps());
        m.put("download_vs_aws", f.downloadVsAwsCp());
        m.put("staging_MBps", f.stagingMBps());
        m.put("staging_samples_per_s", f.stagingSamplesPerSec());
        m.put("reader_batches_per_s", f.readerBatchesPerSec());
        record("staging", Map.of("source", source, "rounds", rounds), m);
      } catch (IOException e) {
        throw new IllegalStateException("bench staging: " + e.getMessage(), e);
      }
    }

    private void runSynthetic(FlipflowConfig config) {
      try {
        Path work = Files.createTempDirectory(Files.createDirectories(config.stateDir()), "bench-");
        StagingFanOutBenchmark.Figures f =
            StagingFanOutBenchmark.run(
                Services.s3(config),
                new StagingFanOutBenchmark.Options(
                    synthetic,
                    resolution,
                    samplesPerShard,
                    List.of(1, 2),
                    rounds,
                    S3Uri.parse("s3://" + config.s3Bucket() + "/bench-synthetic/"),
                    work,
                    format),
                FlipflowCommand.projectDir());
        System.out.println(f.format());
        Map<String, Double> m = new LinkedHashMap<>();
        for (StagingFanOutBenchmark.Configuration c : f.configurations()) {
          String k = "processes" + c.processes();
          m.put(k + "_samples_per_s", c.samplesPerSecond());
          m.put(k + "_MBps", f.sourceBytes() / 1e6 / c.seconds());
          m.put(k + "_seconds_min", c.minSeconds());
          m.put(k + "_seconds_max", c.maxSeconds());
        }
        m.put("scale_out_efficiency_2", f.efficiency(2));
        m.put("source_bytes_per_sample", (double) f.sourceBytes() / f.samples());
        m.put("staged_bytes_per_sample", f.stagedBytesPerSample());
        m.put("raw_record_bytes", (double) f.rawBytesPerSample());
        m.put("reader_samples_per_s", f.readerSamplesPerSecond());
        record(
            "staging-fan-out",
            Map.of(
                "samples", synthetic,
                "resolution", resolution,
                "samples_per_shard", samplesPerShard,
                "rounds", rounds,
                "format", format.name().toLowerCase(Locale.ROOT),
                "threads_per_process", 1),
            m);
      } catch (IOException e) {
        throw new IllegalStateException("bench staging --synthetic: " + e.getMessage(), e);
      }
    }
  }

  @Command(
      name = "orchestration",
      mixinStandardHelpOptions = true,
      description =
          "Orchestration overhead of a finished pipeline: its wall time minus the time its"
              + " activities ran, from its Temporal history (goal: at most 2%).")
  static final class Orchestration implements Runnable {
    @Option(names = "--workflow-id", required = true)
    String workflowId;

    @Override
    public void run() {
      FlipflowConfig config = FlipflowCommand.config();
      try (TemporalConnection temporal = TemporalConnection.connect(config)) {
        OrchestrationOverhead.Figures f = OrchestrationOverhead.of(temporal.client(), workflowId);
        System.out.printf(
            Locale.ROOT,
            "%s: wall %.1f s, %d activities ran %.1f s, overhead %.1f s = %.2f%%%n",
            workflowId,
            f.wallSeconds(),
            f.activities(),
            f.activitySeconds(),
            f.overheadSeconds(),
            100 * f.overheadShare());
        record(
            "orchestration",
            Map.of("workflow_id", workflowId),
            Map.of(
                "wall_seconds", f.wallSeconds(),
                "activity_seconds", f.activitySeconds(),
                "overhead_share", f.overheadShare()));
      }
    }
  }

  @Command(
      name = "openclip",
      mixinStandardHelpOptions = true,
      description = {
        "flipflow against OpenCLIP (bench/openclip, its PatchDropout is FLIP's masking): the same",
        "model shape, batch, threads and mask ratio, alternating the two each round; prints",
        "flipflow's samples/s as a ratio of OpenCLIP's. Needs bench/openclip/setup.sh run once."
      })
  static final class OpenClip implements Runnable {
    @Option(names = "--preset", defaultValue = "tiny-emoji")
    String preset;

    @Option(names = "--batch", defaultValue = "128")
    int batch;

    @Option(names = "--rounds", defaultValue = "3")
    int rounds;

    @Option(
        names = "--steps",
        defaultValue = "12",
        description = "Steps per round on each side, warm-up included.")
    int steps;

    @Option(
        names = "--warmup",
        defaultValue = "3",
        description = "First steps of each round left out of the timing, on each side.")
    int warmup;

    @Override
    public void run() {
      OpenClipComparison.Report report =
          OpenClipComparison.run(
              FlipflowCommand.projectDir(), preset, batch, rounds, steps, warmup, System.out);
      record(
          "openclip",
          Map.of(
              "preset",
              preset,
              "batch",
              batch,
              "rounds",
              rounds,
              "steps",
              steps,
              "warmup",
              warmup,
              "threads",
              report.threads(),
              "torch",
              report.torch()),
          OpenClipComparison.metrics(report));
    }
  }
}
