package io.flipflow.infra.bench;

import io.flipflow.activities.data.s3.S3Settings;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.GroupSummary;
import io.flipflow.activities.data.staging.StageData;
import io.flipflow.activities.data.staging.StagedManifest;
import io.flipflow.activities.data.staging.StagingLimits;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.data.webdataset.WdsSample;
import io.flipflow.activities.data.webdataset.WdsWriter;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.Services;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code flipflow bench staging --synthetic N}: the scale-out of fanned-out staging, on generated
 * img2dataset shards (JPEG at the given resolution, a caption, a {@code .json} with status
 * success), written once to S3 and reused, staged in the chosen record format. Each round stages
 * the set afresh with 1 and with 2 worker processes of 1 staging thread each, in alternating order:
 * the parent plans, every process stages its share of the shard groups (group i goes to process i
 * mod K, as free workers would take them from the task queue), and the parent publishes. The span
 * is from the first process's first group to the last one's end, so JVM start-up is left out;
 * Temporal's own cost per activity is what {@code bench orchestration} measures.
 */
public final class StagingFanOutBenchmark {
  private static final Logger log = LoggerFactory.getLogger(StagingFanOutBenchmark.class);
  private static final int READER_BATCH = 256;

  /**
   * @param samples generated samples, e.g. 100,000
   * @param resolution side of the generated images and of the staging, e.g. 224
   * @param samplesPerShard samples per generated shard (img2dataset writes 10,000; 1,000 here so a
   *     small set still makes several groups)
   * @param processes worker process counts compared, e.g. [1, 2]
   * @param root S3 folder for the generated set (reused) and the staged copies (removed)
   * @param format the staged record format
   */
  public record Options(
      int samples,
      int resolution,
      int samplesPerShard,
      List<Integer> processes,
      int rounds,
      S3Uri root,
      Path workDir,
      StagedManifest.Format format) {
    public Options {
      if (samples <= 0 || resolution < 8 || samplesPerShard <= 0 || rounds <= 0) {
        throw new IllegalArgumentException(
            "samples, samplesPerShard and rounds must be positive and resolution at least 8");
      }
      if (processes.isEmpty() || processes.stream().anyMatch(p -> p < 1)) {
        throw new IllegalArgumentException("processes must be positive, got " + processes);
      }
    }
  }

  /** One configuration's medians; the spread is min and max over the rounds. */
  public record Configuration(
      int processes, double seconds, double minSeconds, double maxSeconds, long samples) {
    public double samplesPerSecond() {
      return samples / seconds;
    }
  }

  /**
   * @param sourceBytes bytes of the generated shards
   * @param stagedBytesPerSample bytes per sample of the staged shards, in {@code recordFormat}
   * @param rawBytesPerSample bytes of one raw record (3 x R x R pixels and the tokens), for scale
   * @param readerSamplesPerSecond the staged reader's samples/s (warm cache, batches of 256,
   *     decoding included for encoded records)
   */
  public record Figures(
      int samples,
      int resolution,
      int shards,
      long sourceBytes,
      StagedManifest.Format recordFormat,
      double stagedBytesPerSample,
      int rawBytesPerSample,
      double readerSamplesPerSecond,
      int rounds,
      List<Configuration> configurations) {

    /** Samples/s of {@code k} processes over k times that of one: 1.0 is perfect scale-out. */
    public double efficiency(int k) {
      Configuration one = of(1);
      Configuration many = of(k);
      return many.samplesPerSecond() / (k * one.samplesPerSecond());
    }

    public Configuration of(int processes) {
      return configurations.stream()
          .filter(c -> c.processes() == processes)
          .findFirst()
          .orElseThrow(() -> new IllegalArgumentException("no run with " + processes));
    }

    public String format() {
      StringBuilder sb = new StringBuilder();
      sb.append(
          String.format(
              Locale.ROOT,
              "fanned-out staging: %d synthetic samples at %d px in %d shards (%.1f MB, %.0f B per"
                  + " sample), medians of %d rounds, 1 staging thread per process%n",
              samples,
              resolution,
              shards,
              sourceBytes / 1e6,
              (double) sourceBytes / samples,
              rounds));
      for (Configuration c : configurations) {
        sb.append(
            String.format(
                Locale.ROOT,
                "  %d process(es)  %7.1f s (%.1f-%.1f)  %7.0f samples/s  %6.1f MB/s%s%n",
                c.processes(),
                c.seconds(),
                c.minSeconds(),
                c.maxSeconds(),
                c.samplesPerSecond(),
                sourceBytes / 1e6 / c.seconds(),
                c.processes() == 1
                    ? ""
                    : String.format(
                        Locale.ROOT, "  scale-out efficiency %.2f", efficiency(c.processes()))));
      }
      sb.append(
          String.format(
              Locale.ROOT,
              "  staged %s records: %.0f B per sample (raw records would be %d B); staged reader"
                  + " %.0f samples/s",
              recordFormat.name().toLowerCase(Locale.ROOT),
              stagedBytesPerSample,
              rawBytesPerSample,
              readerSamplesPerSecond));
      return sb.toString();
    }
  }

  private StagingFanOutBenchmark() {}

  public static Figures run(S3Settings settings, Options o, Path projectDir) {
    try (S3Store store = S3Store.create(settings)) {
      S3Uri data = synthetic(store, o);
      List<S3Store.ObjectInfo> shards = store.resolveShards(data);
      long bytes = shards.stream().mapToLong(S3Store.ObjectInfo::size).sum();
      Map<Integer, List<Double>> seconds = new LinkedHashMap<>();
      o.processes().forEach(k -> seconds.put(k, new ArrayList<>()));
      long samples = 0;
      double stagedBytesPerSample = 0;
      int rawBytesPerSample = 0;
      List<Double> reader = new ArrayList<>();
      for (int round = 0; round < o.rounds(); round++) {
        List<Integer> order = new ArrayList<>(o.processes());
        if (round % 2 == 1) {
          java.util.Collections.reverse(order); // alternate, so drift spreads over both
        }
        for (int k : order) {
          S3Uri stagedRoot =
              o.root().resolve("staged-" + round + "-" + k + "-" + System.nanoTime());
          StageData.Request request =
              new StageData.Request(
                  data.toString(),
                  stagedRoot,
                  data.resolve("tokenizer.json"),
                  o.resolution(),
                  32,
                  StagingLimits.defaults(),
                  1,
                  o.format());
          StageData stager = new StageData(store, o.workDir().resolve("parent"));
          StageData.Planned planned = stager.plan(request, new StageData.Listener() {});
          double s = stageInProcesses(planned, request, k, o, projectDir, settings);
          StagedManifest m =
              stager.publish(
                  planned.planUri(),
                  request.source(),
                  1,
                  request.limits(),
                  new StageData.Listener() {});
          samples = m.samples();
          stagedBytesPerSample =
              (double) m.shards().stream().mapToLong(StagedManifest.Shard::bytes).sum()
                  / m.samples();
          rawBytesPerSample = m.recordBytes();
          seconds.get(k).add(s);
          int batches = (int) Math.max(1, Math.min(100, m.samples() / READER_BATCH - 1));
          Path cache = o.workDir().resolve("cache-" + round + "-" + k);
          reader.add(
              READER_BATCH * StagingBenchmark.timeReader(store, m, cache, READER_BATCH, batches));
          StagingBenchmark.deleteTree(cache);
          log.info(
              "bench round {}: {} process(es) staged {} samples in {} s", round, k, samples, s);
          store.deleteFolder(stagedRoot);
        }
      }
      List<Configuration> configurations = new ArrayList<>();
      for (var e : seconds.entrySet()) {
        List<Double> v = e.getValue();
        configurations.add(
            new Configuration(
                e.getKey(),
                StagingBenchmark.median(v),
                v.stream().mapToDouble(Double::doubleValue).min().orElse(0),
                v.stream().mapToDouble(Double::doubleValue).max().orElse(0),
                samples));
      }
      StagingBenchmark.deleteTree(o.workDir());
      return new Figures(
          o.samples(),
          o.resolution(),
          shards.size(),
          bytes,
          o.format(),
          stagedBytesPerSample,
          rawBytesPerSample,
          StagingBenchmark.median(reader),
          o.rounds(),
          configurations);
    }
  }

  /** Seconds from the first group's start to the last group's end over {@code k} processes. */
  private static double stageInProcesses(
      StageData.Planned planned,
      StageData.Request request,
      int k,
      Options o,
      Path projectDir,
      S3Settings settings) {
    List<Process> processes = new ArrayList<>();
    List<Path> logs = new ArrayList<>();
    try {
      for (int index = 0; index < k; index++) {
        Path logFile = Files.createTempFile("flipflow-stage-worker-", ".log");
        logs.add(logFile);
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx1g");
        cmd.add("-Dflipflow.home=" + projectDir);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(StagingFanOutBenchmark.class.getName());
        for (Object a :
            List.of(
                planned.planUri(),
                request.source(),
                index,
                k,
                planned.plan().shardCount(),
                o.workDir().resolve("worker-" + index),
                request.tokenizer())) {
          cmd.add(String.valueOf(a));
        }
        ProcessBuilder pb =
            new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(logFile.toFile());
        // this S3, whatever the child's config says: through the environment, never argv
        Map<String, String> env = pb.environment();
        if (settings.endpoint() != null) {
          env.put(FlipflowConfig.envName("s3.endpoint"), settings.endpoint().toString());
        }
        env.put(FlipflowConfig.envName("s3.region"), settings.region());
        env.put(FlipflowConfig.envName("s3.pathStyle"), String.valueOf(settings.pathStyle()));
        if (settings.accessKey() != null) {
          env.put(FlipflowConfig.envName("s3.accessKey"), settings.accessKey());
          env.put(FlipflowConfig.envName("s3.secretKey"), settings.secretKey());
        }
        processes.add(pb.start());
      }
      long first = Long.MAX_VALUE;
      long last = 0;
      for (int index = 0; index < k; index++) {
        Process p = processes.get(index);
        String out = "";
        if (!p.waitFor(60, TimeUnit.MINUTES) || p.exitValue() != 0) {
          out = Files.readString(logs.get(index), StandardCharsets.UTF_8);
          throw new IllegalStateException("staging worker " + index + " failed:\n" + out);
        }
        for (String line : Files.readAllLines(logs.get(index), StandardCharsets.UTF_8)) {
          if (line.startsWith("SPAN ")) {
            String[] f = line.split(" ");
            first = Math.min(first, Long.parseLong(f[1]));
            last = Math.max(last, Long.parseLong(f[2]));
          }
        }
      }
      if (last == 0) {
        throw new IllegalStateException("no staging worker reported its span");
      }
      return (last - first) / 1e3;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } finally {
      processes.forEach(Process::destroyForcibly);
      for (Path l : logs) {
        try {
          Files.deleteIfExists(l);
        } catch (IOException ignored) {
          // a temp file
        }
      }
    }
  }

  /**
   * A staging worker: {@code PLAN SOURCE INDEX PROCESSES SHARDS WORKDIR TOKENIZER}. Stages every
   * group of one shard whose index is {@code INDEX} mod {@code PROCESSES} on one thread, then
   * prints {@code SPAN startMillis endMillis} (wall clock, comparable across the processes of one
   * machine).
   */
  public static void main(String[] args) throws Exception {
    S3Uri plan = S3Uri.parse(args[0]);
    String source = args[1];
    int index = Integer.parseInt(args[2]);
    int processes = Integer.parseInt(args[3]);
    int shards = Integer.parseInt(args[4]);
    Path work = Path.of(args[5]);
    S3Uri tokenizer = S3Uri.parse(args[6]);
    FlipflowConfig config = FlipflowConfig.load(Path.of(System.getProperty("flipflow.home", ".")));
    try (S3Store store = S3Store.create(Services.s3(config))) {
      StageData stager = new StageData(store, work);
      // what every process pays once before its first shard (S3 connection, the native
      // tokenizer, the JPEG decoder) is start-up, not staging: left out of the span
      try (var t = CaptionTokenizer.load(store.getBytes(tokenizer), 32, tokenizer.toString())) {
        t.encode("a photo");
      }
      ImageIO.read(new java.io.ByteArrayInputStream(jpeg(16, new Random(0))));
      long start = System.currentTimeMillis();
      long samples = 0;
      for (int group = index; group < shards; group += processes) {
        GroupSummary g =
            stager.stageGroup(
                new StageData.GroupRequest(
                    plan, source, group, group + 1, StagingLimits.defaults(), 1),
                new StageData.Listener() {});
        samples += StageData.counts(g).samples();
      }
      System.out.println("SPAN " + start + " " + System.currentTimeMillis() + " " + samples);
    }
  }

  /**
   * The generated set under {@code root/synthetic-<R>px-<N>/}, written once: JPEGs of smooth
   * gradients with a few shapes and mild noise (about the size of a web photo at that resolution,
   * where pure noise would be the worst case), captions from a small vocabulary, and a tokenizer.
   */
  static S3Uri synthetic(S3Store store, Options o) {
    S3Uri folder =
        o.root()
            .resolve(
                "synthetic-"
                    + o.resolution()
                    + "px-"
                    + o.samples()
                    + "-by-"
                    + o.samplesPerShard()
                    + "/");
    S3Uri done = folder.resolve("done.json");
    if (store.exists(done)) {
      return folder;
    }
    int shards = (o.samples() + o.samplesPerShard() - 1) / o.samplesPerShard();
    log.info(
        "generating {} samples at {} px in {} shards under {}",
        o.samples(),
        o.resolution(),
        shards,
        folder);
    ExecutorService pool = Executors.newFixedThreadPool(Runtime.getRuntime().availableProcessors());
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int s = 0; s < shards; s++) {
        int shard = s;
        futures.add(pool.submit(() -> writeShard(store, folder, shard, o)));
      }
      for (Future<?> f : futures) {
        f.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(
          "generating the synthetic set: " + e.getCause(), e.getCause());
    } finally {
      pool.shutdownNow();
    }
    List<String> captions = new ArrayList<>();
    for (String a : ADJECTIVES) for (String n : NOUNS) captions.add("a photo of a " + a + " " + n);
    store.put(folder.resolve("tokenizer.json"), WordLevelVocabulary.build(captions));
    store.put(done, ("{\"samples\": " + o.samples() + "}").getBytes(StandardCharsets.UTF_8));
    return folder;
  }

  private static final List<String> ADJECTIVES =
      List.of("red", "green", "blue", "small", "large", "bright", "dark", "striped");
  private static final List<String> NOUNS =
      List.of("cat", "dog", "house", "tree", "car", "boat", "flower", "mountain");

  private static Void writeShard(S3Store store, S3Uri folder, int shard, Options o)
      throws IOException {
    Random random = new Random(shard);
    ByteArrayOutputStream tar = new ByteArrayOutputStream();
    int from = shard * o.samplesPerShard();
    int to = Math.min(o.samples(), from + o.samplesPerShard());
    try (WdsWriter writer = new WdsWriter(tar)) {
      for (int i = from; i < to; i++) {
        String caption =
            "a photo of a "
                + ADJECTIVES.get(random.nextInt(ADJECTIVES.size()))
                + " "
                + NOUNS.get(random.nextInt(NOUNS.size()));
        Map<String, byte[]> members = new LinkedHashMap<>();
        members.put("jpg", jpeg(o.resolution(), random));
        members.put("txt", caption.getBytes(StandardCharsets.UTF_8));
        members.put(
            "json",
            ("{\"key\": \"" + String.format("%09d", i) + "\", \"status\": \"success\"}")
                .getBytes(StandardCharsets.UTF_8));
        writer.write(new WdsSample(String.format("%09d", i), members));
      }
    }
    store.put(folder.resolve(String.format("%05d.tar", shard)), tar.toByteArray());
    return null;
  }

  private static byte[] jpeg(int side, Random random) throws IOException {
    BufferedImage img = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setPaint(
        new java.awt.GradientPaint(
            0, 0, new Color(random.nextInt()), side, side, new Color(random.nextInt())));
    g.fillRect(0, 0, side, side);
    for (int shape = 0; shape < 6; shape++) {
      g.setColor(new Color(random.nextInt()));
      int w = 1 + random.nextInt(side / 2);
      int h = 1 + random.nextInt(side / 2);
      g.fillOval(random.nextInt(side), random.nextInt(side), w, h);
    }
    g.dispose();
    for (int y = 0; y < side; y++) {
      for (int x = 0; x < side; x++) {
        int rgb = img.getRGB(x, y);
        int d = random.nextInt(17) - 8;
        int r = clamp(((rgb >> 16) & 255) + d);
        int gr = clamp(((rgb >> 8) & 255) + d);
        int b = clamp((rgb & 255) + d);
        img.setRGB(x, y, (r << 16) | (gr << 8) | b);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "jpg", out);
    return out.toByteArray();
  }

  private static int clamp(int v) {
    return Math.max(0, Math.min(255, v));
  }
}
