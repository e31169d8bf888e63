package io.flipflow.activities.data.staging;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import io.flipflow.activities.data.image.ImagePreprocessor;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes WebDataset shards training-ready (the {@code StageData} activity's work). Lists the shards,
 * downloads them in parallel, verifies size and ETag (MD5 of single-part uploads; re-downloaded
 * once on mismatch), decodes and resizes every image, tokenizes every caption, and writes fixed
 * record shards under {@code STAGED_ROOT/<content key>/}: the key hashes the sources' ETags and
 * sizes, the tokenizer's bytes, resolution and context length. Each finished shard leaves a {@code
 * shards/NNNNN.json} marker, so a retry resumes after the finished shards; {@code manifest.json} is
 * written last and makes a re-run return at once.
 */
public final class StageData {
  private static final Logger log = LoggerFactory.getLogger(StageData.class);
  private static final Gson GSON =
      new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

  /**
   * @param source brace pattern, single .tar or folder of img2dataset shards
   * @param stagedRoot where content-addressed staged sets live, e.g. s3://b/staged
   * @param tokenizer a tokenizer.json in S3
   * @param maxBadFraction the stage fails above this share of bad samples (default 0.01)
   * @param parallelism shards processed at once (download + decode), e.g. the number of cores
   */
  public record Request(
      String source,
      S3Uri stagedRoot,
      S3Uri tokenizer,
      int resolution,
      int contextLength,
      double maxBadFraction,
      int parallelism) {
    public Request {
      if (resolution <= 0)
        throw new IllegalArgumentException("resolution must be positive, got " + resolution);
      if (contextLength < 3)
        throw new IllegalArgumentException(
            "contextLength must be at least 3, got " + contextLength);
      if (maxBadFraction < 0 || maxBadFraction > 1)
        throw new IllegalArgumentException(
            "maxBadFraction must be in [0, 1], got " + maxBadFraction);
      if (parallelism <= 0)
        throw new IllegalArgumentException("parallelism must be positive, got " + parallelism);
    }

    public static Request of(
        String source, S3Uri stagedRoot, S3Uri tokenizer, int resolution, int contextLength) {
      return new Request(
          source,
          stagedRoot,
          tokenizer,
          resolution,
          contextLength,
          0.01,
          Math.max(2, Runtime.getRuntime().availableProcessors()));
    }
  }

  /** A skipped sample or shard: key is "" when the whole shard (or its rest) is lost. */
  public record DataIssue(String shard, String key, String reason) {}

  /** Called from worker threads; implementations must be thread-safe (e.g. record a heartbeat). */
  public interface Listener {
    default void shardDone(int shardsDone, int shardsTotal, long samplesDone) {}

    default void issue(DataIssue issue) {}
  }

  private final S3Store store;
  private final Path workDir;

  public StageData(S3Store store, Path workDir) {
    this.store = store;
    this.workDir = workDir;
  }

  public StagedManifest stage(Request request, Listener listener) {
    S3Uri source = S3Uri.parse(request.source());
    List<S3Store.ObjectInfo> shards = store.resolveShards(source);
    byte[] tokenizerJson = store.getBytes(request.tokenizer());
    try (CaptionTokenizer tokenizer =
        CaptionTokenizer.load(
            tokenizerJson, request.contextLength(), request.tokenizer().toString())) {
      String key = contentKey(shards, tokenizer.sha256(), request);
      S3Uri root = request.stagedRoot().resolve(key);
      S3Uri manifestUri = root.resolve("manifest.json");
      if (store.exists(manifestUri)) {
        StagedManifest m =
            GSON.fromJson(
                new String(store.getBytes(manifestUri), StandardCharsets.UTF_8),
                StagedManifest.class);
        log.info("staged set {} already exists ({} samples): reused", root, m.samples());
        listener.shardDone(m.shards().size(), m.shards().size(), m.samples());
        return m;
      }
      Path dir = workDir.resolve("stage-" + key);
      Files.createDirectories(dir);
      ExecutorService pool =
          Executors.newFixedThreadPool(
              request.parallelism(),
              r -> {
                Thread t = new Thread(r, "stage-" + key.substring(0, 6));
                t.setDaemon(true);
                return t;
              });
      AtomicInteger done = new AtomicInteger();
      java.util.concurrent.atomic.AtomicLong samplesDone =
          new java.util.concurrent.atomic.AtomicLong();
      List<Future<ShardStager.ShardResult>> futures = new ArrayList<>();
      java.util.concurrent.atomic.AtomicBoolean failed =
          new java.util.concurrent.atomic.AtomicBoolean();
      java.util.concurrent.atomic.AtomicReference<Throwable> firstFailure =
          new java.util.concurrent.atomic.AtomicReference<>();
      ImagePreprocessor pre = new ImagePreprocessor(request.resolution());
      ShardStager stager = new ShardStager(store);
      for (int i = 0; i < shards.size(); i++) {
        int index = i;
        futures.add(
            pool.submit(
                () -> {
                  // once a shard has failed the attempt fails: start no further downloads
                  if (failed.get()) {
                    throw new java.util.concurrent.CancellationException("an earlier shard failed");
                  }
                  ShardStager.ShardResult r;
                  try {
                    r = stager.stage(index, shards.get(index), root, dir, pre, tokenizer, listener);
                  } catch (RuntimeException | Error e) {
                    firstFailure.compareAndSet(null, e);
                    failed.set(true);
                    throw e;
                  }
                  listener.shardDone(
                      done.incrementAndGet(), shards.size(), samplesDone.addAndGet(r.samples()));
                  return r;
                }));
      }
      List<ShardStager.ShardResult> results = new ArrayList<>();
      try {
        for (Future<ShardStager.ShardResult> f : futures) {
          results.add(f.get());
        }
      } catch (ExecutionException e) {
        futures.forEach(f -> f.cancel(true));
        // a shard skipped because another failed reports the failure that stopped it
        Throwable c =
            e.getCause() instanceof java.util.concurrent.CancellationException
                    && firstFailure.get() != null
                ? firstFailure.get()
                : e.getCause();
        if (c instanceof RuntimeException re) throw re;
        if (c instanceof IOException io) throw new UncheckedIOException(io);
        throw new IllegalStateException(c);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        futures.forEach(f -> f.cancel(true));
        throw new IllegalStateException("staging interrupted", e);
      } finally {
        pool.shutdownNow();
      }
      long good = results.stream().mapToLong(ShardStager.ShardResult::samples).sum();
      long bad = results.stream().mapToLong(ShardStager.ShardResult::bad).sum();
      double fraction = good + bad == 0 ? 1.0 : (double) bad / (good + bad);
      if (good == 0 || fraction > request.maxBadFraction()) {
        throw new IllegalArgumentException(
            summary(source, good, bad, request.maxBadFraction(), results));
      }
      List<StagedManifest.Shard> staged =
          results.stream()
              .filter(r -> r.samples() > 0)
              .map(r -> new StagedManifest.Shard(r.bin(), r.samples(), r.bytes(), r.etag()))
              .toList();
      StagedManifest manifest =
          new StagedManifest(
              StagedManifest.FORMAT_VERSION,
              key,
              root.toString(),
              good,
              bad,
              staged,
              request.tokenizer().toString(),
              tokenizer.sha256(),
              tokenizer.vocabSize(),
              request.resolution(),
              request.contextLength(),
              shards.stream().map(s -> s.uri().toString()).toList());
      store.put(manifestUri, GSON.toJson(manifest).getBytes(StandardCharsets.UTF_8));
      log.info("staged {} samples from {} shards into {} ({} bad)", good, shards.size(), root, bad);
      return manifest;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Where the manifest of {@code request} would be, without staging (null-free: lists the sources).
   */
  public S3Uri stagedRoot(Request request) {
    List<S3Store.ObjectInfo> shards = store.resolveShards(S3Uri.parse(request.source()));
    byte[] tokenizerJson = store.getBytes(request.tokenizer());
    try (CaptionTokenizer t =
        CaptionTokenizer.load(
            tokenizerJson, request.contextLength(), request.tokenizer().toString())) {
      return request.stagedRoot().resolve(contentKey(shards, t.sha256(), request));
    }
  }

  /** The tokenizer.json beside the shards, or one folder up (the importer's layout). */
  public static S3Uri findTokenizer(S3Store store, S3Uri source) {
    S3Uri folder = source.isBracePattern() ? source.parent() : source;
    for (S3Uri candidate :
        List.of(folder.resolve("tokenizer.json"), folder.parent().resolve("tokenizer.json"))) {
      if (store.exists(candidate)) {
        return candidate;
      }
    }
    throw new IllegalArgumentException(
        "dataUri "
            + source
            + ": no tokenizer.json beside the shards or one folder up; import the data with"
            + " `flipflow data import` or put a tokenizer.json there");
  }

  public static StagedManifest readManifest(S3Store store, S3Uri manifestOrRoot) {
    S3Uri uri =
        manifestOrRoot.key().endsWith("manifest.json")
            ? manifestOrRoot
            : manifestOrRoot.resolve("manifest.json");
    if (!store.exists(uri)) {
      throw new IllegalArgumentException("no staged manifest at " + uri);
    }
    return GSON.fromJson(
        new String(store.getBytes(uri), StandardCharsets.UTF_8), StagedManifest.class);
  }

  static String contentKey(List<S3Store.ObjectInfo> shards, String tokenizerSha256, Request r) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      StringBuilder sb =
          new StringBuilder("flipflow-staged-v" + StagedManifest.FORMAT_VERSION + "\n");
      for (S3Store.ObjectInfo s : shards) {
        sb.append(s.uri()).append(' ').append(s.size()).append(' ').append(s.etag()).append('\n');
      }
      sb.append("tokenizer ")
          .append(tokenizerSha256)
          .append("\nresolution ")
          .append(r.resolution())
          .append("\ncontext ")
          .append(r.contextLength())
          .append("\npreprocessing ")
          .append(ImagePreprocessor.DESCRIPTION)
          .append('\n');
      return HexFormat.of()
          .formatHex(d.digest(sb.toString().getBytes(StandardCharsets.UTF_8)))
          .substring(0, 24);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String summary(
      S3Uri source, long good, long bad, double limit, List<ShardStager.ShardResult> results) {
    Map<String, Integer> reasons = new LinkedHashMap<>();
    DataIssue first = null;
    for (ShardStager.ShardResult r : results) {
      for (DataIssue i : r.issues()) {
        reasons.merge(i.reason().replaceAll(" \\(.*$|:.*$", ""), 1, Integer::sum);
        if (first == null) first = i;
      }
    }
    return String.format(
        java.util.Locale.ROOT,
        "staging %s: %d of %d samples bad (%.2f%% > limit %.2f%%): %s; first: %s",
        source,
        bad,
        good + bad,
        100.0 * bad / Math.max(1, good + bad),
        100 * limit,
        reasons,
        first == null ? "none" : first.shard() + " key '" + first.key() + "': " + first.reason());
  }
}
