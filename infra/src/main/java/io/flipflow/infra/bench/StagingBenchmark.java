package io.flipflow.infra.bench;

import io.flipflow.activities.data.s3.S3Settings;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.ShardStager;
import io.flipflow.activities.data.staging.StageData;
import io.flipflow.activities.data.staging.StagedDataReader;
import io.flipflow.activities.data.staging.StagedManifest;
import io.flipflow.activities.data.staging.StagingLimits;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code flipflow bench staging}: the data path measured against the reference a user would reach
 * for. Each round runs, one after the other on the same shards: (1) our download alone ({@link
 * S3Store#download} on {@code parallelism} threads plus the size/MD5 check staging does), (2)
 * {@code aws s3 cp --recursive} of the same shards (credentials through the environment), (3) the
 * whole staging ({@link StageData#stage} into a fresh staged root, so nothing is reused), (4)
 * {@link StagedDataReader} batches/s on the staged set with a warm local cache. Alternating rounds
 * spread machine noise over all four; the figures are medians.
 */
public final class StagingBenchmark {
  private static final Logger log = LoggerFactory.getLogger(StagingBenchmark.class);

  /**
   * @param source the shards (brace pattern, .tar, or folder), as {@link StageData.Request} takes
   * @param tokenizer tokenizer.json for the staging
   * @param scratch S3 folder for the staged copies (one per round)
   * @param awsCli the aws executable (Debian's is {@code /usr/bin/aws}); missing = not measured
   */
  public record Options(
      String source,
      S3Uri tokenizer,
      S3Uri scratch,
      int resolution,
      int contextLength,
      int parallelism,
      int rounds,
      int readerBatchSize,
      int readerBatches,
      Path workDir,
      Path awsCli) {
    public Options {
      if (rounds <= 0) throw new IllegalArgumentException("rounds must be positive, got " + rounds);
      if (readerBatchSize <= 0 || readerBatches <= 0)
        throw new IllegalArgumentException(
            "readerBatchSize and readerBatches must be positive, got "
                + readerBatchSize
                + " and "
                + readerBatches);
    }

    /** 64 px, 32 tokens, 2 threads per core, 3 rounds, 200 batches of 256, /usr/bin/aws. */
    public static Options defaults(String source, S3Uri tokenizer, S3Uri scratch, Path workDir) {
      return new Options(
          source,
          tokenizer,
          scratch,
          64,
          32,
          Math.max(2, 2 * Runtime.getRuntime().availableProcessors()),
          3,
          256,
          200,
          workDir,
          Path.of("/usr/bin/aws"));
    }
  }

  /**
   * Medians over the rounds. Rates in MB/s are 10^6 bytes of source shards per second; {@code
   * awsCpMBps} is NaN when the aws CLI was not there or failed ({@code awsNote} says why).
   */
  public record Figures(
      int shards,
      long bytes,
      long samples,
      int rounds,
      double downloadMBps,
      double downloadSamplesPerSec,
      double awsCpMBps,
      double stagingMBps,
      double stagingSamplesPerSec,
      double readerBatchesPerSec,
      int readerBatchSize,
      String awsNote) {

    /** Our download speed as a multiple of aws s3 cp's (goal >= 1). */
    public double downloadVsAwsCp() {
      return downloadMBps / awsCpMBps;
    }

    public String format() {
      return String.format(
          Locale.ROOT,
          "staging benchmark: %d shards, %.1f MB, %d samples, medians of %d rounds%n"
              + "  download (ours)   %8.1f MB/s %10.0f samples/s%n"
              + "  aws s3 cp         %8.1f MB/s   (ours / aws = %.2f)%s%n"
              + "  whole staging     %8.1f MB/s %10.0f samples/s%n"
              + "  staged reader     %8.1f batches/s of %d = %.0f samples/s",
          shards,
          bytes / 1e6,
          samples,
          rounds,
          downloadMBps,
          downloadSamplesPerSec,
          awsCpMBps,
          downloadVsAwsCp(),
          awsNote.isEmpty() ? "" : " " + awsNote,
          stagingMBps,
          stagingSamplesPerSec,
          readerBatchesPerSec,
          readerBatchSize,
          readerBatchesPerSec * readerBatchSize);
    }
  }

  private StagingBenchmark() {}

  /** Runs the benchmark; the lead's {@code flipflow bench staging} calls this. */
  public static Figures run(S3Settings settings, Options o) {
    try (S3Store store = S3Store.create(settings)) {
      List<S3Store.ObjectInfo> shards = store.resolveShards(S3Uri.parse(o.source()));
      long bytes = shards.stream().mapToLong(S3Store.ObjectInfo::size).sum();
      List<Double> download = new ArrayList<>();
      List<Double> aws = new ArrayList<>();
      List<Double> staging = new ArrayList<>();
      List<Double> reader = new ArrayList<>();
      long samples = 0;
      String awsNote = Files.isExecutable(o.awsCli()) ? "" : "(" + o.awsCli() + " not found)";
      for (int round = 0; round < o.rounds(); round++) {
        Path dir = o.workDir().resolve("bench-" + round);
        download.add(timeDownload(store, shards, dir.resolve("ours"), o.parallelism()));
        if (awsNote.isEmpty()) {
          try {
            aws.add(timeAwsCp(settings, shards, dir.resolve("aws"), o.awsCli()));
          } catch (RuntimeException e) {
            awsNote = "(aws s3 cp failed: " + e.getMessage() + ")";
            log.warn("aws s3 cp failed; its figure is left out", e);
          }
        }
        StageData.Request request =
            new StageData.Request(
                o.source(),
                o.scratch().resolve("round-" + round + "-" + System.nanoTime()),
                o.tokenizer(),
                o.resolution(),
                o.contextLength(),
                StagingLimits.defaults(),
                o.parallelism());
        long t0 = System.nanoTime();
        StagedManifest m =
            new StageData(store, dir.resolve("stage")).stage(request, new StageData.Listener() {});
        staging.add((System.nanoTime() - t0) / 1e9);
        samples = m.samples();
        reader.add(timeReader(store, m, dir.resolve("cache"), o));
        deleteTree(dir);
        log.info(
            "bench round {}: download {} s, aws {} s, staging {} s, reader {} batches/s",
            round,
            download.get(round),
            aws.isEmpty() ? "-" : aws.get(aws.size() - 1),
            staging.get(round),
            reader.get(round));
      }
      double mb = bytes / 1e6;
      double dl = median(download);
      double st = median(staging);
      return new Figures(
          shards.size(),
          bytes,
          samples,
          o.rounds(),
          mb / dl,
          samples / dl,
          aws.isEmpty() ? Double.NaN : mb / median(aws),
          mb / st,
          samples / st,
          median(reader),
          o.readerBatchSize(),
          awsNote);
    }
  }

  /** Seconds to download and verify every shard on {@code threads} threads, as staging does. */
  static double timeDownload(
      S3Store store, List<S3Store.ObjectInfo> shards, Path dir, int threads) {
    ShardStager verifier = new ShardStager(store);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    long t0 = System.nanoTime();
    try {
      List<Future<Boolean>> futures = new ArrayList<>();
      for (int i = 0; i < shards.size(); i++) {
        S3Store.ObjectInfo s = shards.get(i);
        Path target = dir.resolve(String.format("%05d.tar", i));
        futures.add(pool.submit(() -> verifier.downloadVerified(s, target)));
      }
      for (int i = 0; i < futures.size(); i++) {
        if (!futures.get(i).get()) {
          throw new IllegalStateException("download of " + shards.get(i).uri() + " did not verify");
        }
      }
      return (System.nanoTime() - t0) / 1e9;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("benchmark interrupted", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("download failed: " + e.getCause(), e.getCause());
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Seconds for {@code aws s3 cp --recursive} of the shards' folder, filtered to exactly these
   * shards. Endpoint and keys go through the environment (never the command line).
   */
  static double timeAwsCp(
      S3Settings settings, List<S3Store.ObjectInfo> shards, Path dir, Path aws) {
    S3Uri first = shards.get(0).uri();
    String folder = first.key().substring(0, first.key().lastIndexOf('/') + 1);
    List<String> cmd = new ArrayList<>();
    cmd.addAll(
        List.of(
            aws.toString(),
            "s3",
            "cp",
            "--recursive",
            "--only-show-errors",
            "s3://" + first.bucket() + "/" + folder,
            dir.toString(),
            "--exclude",
            "*"));
    if (settings.endpoint() != null) {
      // the endpoint is no secret; Debian's aws 2.9 predates AWS_ENDPOINT_URL
      cmd.add("--endpoint-url");
      cmd.add(settings.endpoint().toString());
    }
    for (S3Store.ObjectInfo s : shards) {
      if (!s.uri().bucket().equals(first.bucket()) || !s.uri().key().startsWith(folder)) {
        throw new IllegalArgumentException(
            "aws s3 cp --recursive needs the shards in one folder; " + s.uri() + " is not");
      }
      cmd.add("--include");
      cmd.add(s.uri().key().substring(folder.length()));
    }
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    var env = pb.environment();
    env.put("AWS_DEFAULT_REGION", settings.region());
    env.put("AWS_REGION", settings.region());
    if (settings.accessKey() != null) {
      env.put("AWS_ACCESS_KEY_ID", settings.accessKey());
      env.put("AWS_SECRET_ACCESS_KEY", settings.secretKey());
    }
    env.put("AWS_EC2_METADATA_DISABLED", "true");
    env.put("AWS_PAGER", "");
    try {
      Files.createDirectories(dir);
      if (settings.pathStyle()) {
        Path config = dir.resolveSibling("aws-config");
        Files.writeString(config, "[default]\ns3 =\n  addressing_style = path\n");
        env.put("AWS_CONFIG_FILE", config.toString());
      }
      long t0 = System.nanoTime();
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
        p.destroy();
        throw new IllegalStateException("exit " + p.exitValue() + ": " + out.strip());
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      try (Stream<Path> files = Files.list(dir)) {
        long got = files.count();
        if (got != shards.size()) {
          throw new IllegalStateException(
              "copied " + got + " files, expected " + shards.size() + ": " + out.strip());
        }
      }
      return seconds;
    } catch (IOException e) {
      throw new UncheckedIOException("running " + aws, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Batches per second after the first batch (which fills the local cache). */
  static double timeReader(S3Store store, StagedManifest m, Path cache, Options o) {
    return timeReader(store, m, cache, o.readerBatchSize(), o.readerBatches());
  }

  /** Batches/s of the staged reader with a warm cache, after one batch that fills it. */
  static double timeReader(
      S3Store store, StagedManifest m, Path cache, int batchSize, int batches) {
    try (StagedDataReader reader = new StagedDataReader(store, m, cache, batchSize, 1, 8, 4)) {
      reader.next();
      long t0 = System.nanoTime();
      for (int i = 0; i < batches; i++) reader.next();
      return batches / ((System.nanoTime() - t0) / 1e9);
    }
  }

  static double median(List<Double> xs) {
    double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
  }

  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) return;
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    } catch (IOException e) {
      log.warn("could not delete {}: {}", dir, e.toString());
    }
  }
}
