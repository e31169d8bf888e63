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
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
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
 *
 * <p>Over 350 lines: the bounds a hostile shard meets (sizes, counts, lost shards, the scratch
 * lock) sit beside the one pass they guard; the record format and reader are their own classes.
 */
public final class StageData {
  private static final Logger log = LoggerFactory.getLogger(StageData.class);
  private static final Gson GSON =
      new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

  /**
   * @param source brace pattern, single .tar or folder of img2dataset shards
   * @param stagedRoot where content-addressed staged sets live, e.g. s3://b/staged
   * @param tokenizer a tokenizer.json in S3
   * @param limits the bounds a data set must keep (sizes, losses)
   * @param parallelism shards processed at once (download + decode), e.g. the number of cores
   */
  public record Request(
      String source,
      S3Uri stagedRoot,
      S3Uri tokenizer,
      int resolution,
      int contextLength,
      StagingLimits limits,
      int parallelism) {
    public Request {
      if (resolution <= 0)
        throw new IllegalArgumentException("resolution must be positive, got " + resolution);
      if (contextLength < 3)
        throw new IllegalArgumentException(
            "contextLength must be at least 3, got " + contextLength);
      if (limits == null) throw new IllegalArgumentException("limits are missing");
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
          StagingLimits.defaults(),
          Math.max(2, Runtime.getRuntime().availableProcessors()));
    }

    /** The same request under other limits. */
    public Request withLimits(StagingLimits newLimits) {
      return new Request(
          source, stagedRoot, tokenizer, resolution, contextLength, newLimits, parallelism);
    }
  }

  /** A skipped sample or shard: key is "" when the whole shard (or its rest) is lost. */
  public record DataIssue(String shard, String key, String reason) {}

  /** Called from worker threads; implementations must be thread-safe (e.g. record a heartbeat). */
  public interface Listener {
    default void shardDone(int shardsDone, int shardsTotal, long samplesDone) {}

    default void issue(DataIssue issue) {}

    /** Asked between shards: true stops the staging ({@link Cancelled}), nothing published. */
    default boolean stopRequested() {
      return false;
    }

    /**
     * Blocks until this stager alone works on {@code contentKey} (across workers), and returns what
     * lets the next one in when closed. The default: no one else stages.
     */
    default AutoCloseable exclusive(String contentKey) throws Exception {
      return () -> {};
    }
  }

  /** The staging stopped between shards because its listener asked; nothing was published. */
  public static final class Cancelled extends RuntimeException {
    public Cancelled(String message) {
      super(message);
    }
  }

  private final S3Store store;
  private final Path workDir;

  public StageData(S3Store store, Path workDir) {
    this.store = store;
    this.workDir = workDir;
  }

  public StagedManifest stage(Request request, Listener listener) {
    S3Uri source = S3Uri.parse(request.source());
    List<S3Store.ObjectInfo> shards = store.resolveShards(source, request.limits().maxShards());
    byte[] tokenizerJson = store.getBytes(request.tokenizer());
    try (CaptionTokenizer tokenizer =
        CaptionTokenizer.load(
            tokenizerJson, request.contextLength(), request.tokenizer().toString())) {
      String key = contentKey(shards, tokenizer.sha256(), request);
      S3Uri root = request.stagedRoot().resolve(key);
      S3Uri manifestUri = root.resolve("manifest.json");
      Optional<StagedManifest> done = published(manifestUri, listener, request.limits());
      if (done.isPresent()) {
        return done.get();
      }
      try (AutoCloseable alone = listener.exclusive(key)) {
        // the stager we waited for may have published it meanwhile
        done = published(manifestUri, listener, request.limits());
        if (done.isPresent()) {
          return done.get();
        }
        return stageAlone(request, listener, source, shards, tokenizer, key, root, manifestUri);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("staging " + source + ": " + e.getMessage(), e);
    }
  }

  private Optional<StagedManifest> published(
      S3Uri manifestUri, Listener listener, StagingLimits limits) {
    if (!store.exists(manifestUri)) {
      return Optional.empty();
    }
    StagedManifest m =
        GSON.fromJson(
            new String(store.getBytes(manifestUri), StandardCharsets.UTF_8), StagedManifest.class);
    double lost = (double) m.badSamples() / Math.max(1, m.samples() + m.badSamples());
    if (lost > limits.maxBadFraction()) {
      // staged under looser limits: reusing it would let this run train on what it refuses
      throw new IllegalArgumentException(
          String.format(
              java.util.Locale.ROOT,
              "staged set %s lost %d of %d samples (%.2f%%), over this worker's limit of %.2f%%"
                  + " (staging.max_bad_fraction)",
              m.root(),
              m.badSamples(),
              m.samples() + m.badSamples(),
              100 * lost,
              100 * limits.maxBadFraction()));
    }
    log.info("staged set {} already exists ({} samples): reused", m.root(), m.samples());
    listener.shardDone(m.shards().size(), m.shards().size(), m.samples());
    return Optional.of(m);
  }

  /** The staging itself, holding the key's lock: a private scratch folder, the shards, the gate. */
  private StagedManifest stageAlone(
      Request request,
      Listener listener,
      S3Uri source,
      List<S3Store.ObjectInfo> shards,
      CaptionTokenizer tokenizer,
      String key,
      S3Uri root,
      S3Uri manifestUri)
      throws IOException {
    Path keyDir = workDir.resolve("stage-" + key);
    removeEarlierAttempts(keyDir); // nobody else stages this key now: those are leftovers
    Path dir = Files.createDirectories(keyDir.resolve("attempt-" + UUID.randomUUID()));
    try {
      List<ShardStager.ShardResult> results =
          stageShards(request, listener, shards, tokenizer, key, root, dir);
      Loss loss = Loss.of(results);
      if (loss.good() == 0
          || loss.fraction() > request.limits().maxBadFraction()
          || loss.failedShards() > request.limits().maxFailedShards()) {
        throw new IllegalArgumentException(summary(source, loss, request.limits(), results));
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
              loss.good(),
              loss.bad() + loss.lost(),
              staged,
              request.tokenizer().toString(),
              tokenizer.sha256(),
              tokenizer.vocabSize(),
              request.resolution(),
              request.contextLength(),
              shards.stream().map(s -> s.uri().toString()).toList(),
              loss.failedDownloads());
      store.put(manifestUri, GSON.toJson(manifest).getBytes(StandardCharsets.UTF_8));
      log.info(
          "staged {} samples from {} shards into {} ({} bad, about {} in {} lost shards; {} that"
              + " img2dataset could not download, skipped)",
          loss.good(),
          shards.size(),
          root,
          loss.bad(),
          loss.lost(),
          loss.failedShards(),
          loss.failedDownloads());
      return manifest;
    } finally {
      deleteRecursively(dir);
    }
  }

  private List<ShardStager.ShardResult> stageShards(
      Request request,
      Listener listener,
      List<S3Store.ObjectInfo> shards,
      CaptionTokenizer tokenizer,
      String key,
      S3Uri root,
      Path dir) {
    ExecutorService pool =
        Executors.newFixedThreadPool(
            request.parallelism(),
            r -> {
              Thread t = new Thread(r, "stage-" + key.substring(0, 6));
              t.setDaemon(true);
              return t;
            });
    AtomicInteger done = new AtomicInteger();
    AtomicLong samplesDone = new AtomicLong();
    List<Future<ShardStager.ShardResult>> futures = new ArrayList<>();
    AtomicBoolean failed = new AtomicBoolean();
    AtomicReference<Throwable> firstFailure = new AtomicReference<>();
    ImagePreprocessor pre = new ImagePreprocessor(request.resolution());
    ShardStager stager = new ShardStager(store, request.limits());
    for (int i = 0; i < shards.size(); i++) {
      int index = i;
      futures.add(
          pool.submit(
              () -> {
                // once a shard has failed the attempt fails: start no further downloads
                if (failed.get()) {
                  throw new CancellationException("an earlier shard failed");
                }
                if (listener.stopRequested()) {
                  Cancelled stop =
                      new Cancelled("staging stopped on request before shard " + index);
                  firstFailure.compareAndSet(null, stop);
                  failed.set(true);
                  throw stop;
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
      return results;
    } catch (ExecutionException e) {
      futures.forEach(f -> f.cancel(true));
      // a shard skipped because another failed reports the failure that stopped it
      Throwable c =
          e.getCause() instanceof CancellationException && firstFailure.get() != null
              ? firstFailure.get()
              : e.getCause();
      if (c instanceof RuntimeException re) throw re;
      if (c instanceof Error err) throw err;
      if (c instanceof IOException io) throw new UncheckedIOException(io);
      throw new IllegalStateException(c);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      futures.forEach(f -> f.cancel(true));
      throw new IllegalStateException("staging interrupted", e);
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * What a staging lost: bad samples of readable shards, and the samples of shards lost whole or in
   * part, counted by what the source says they held ({@code _stats.json}, {@code sizes.json}) or,
   * where it says nothing, as the mean of the readable shards. Samples img2dataset says it could
   * not download are counted apart: they were never data, so they are no loss.
   */
  record Loss(long good, long bad, long lost, int failedShards, long failedDownloads) {
    static Loss of(List<ShardStager.ShardResult> results) {
      long good = 0;
      long bad = 0;
      long failedDownloads = 0;
      long readable = 0;
      long readableSamples = 0;
      int failed = 0;
      for (ShardStager.ShardResult r : results) {
        good += r.samples();
        bad += r.bad();
        failedDownloads += r.failedDownloads();
        if (r.failed()) {
          failed++;
        } else {
          readable++;
          readableSamples += r.samples() + r.bad();
        }
      }
      long mean = readable == 0 ? 0 : Math.round((double) readableSamples / readable);
      long lost = 0;
      for (ShardStager.ShardResult r : results) {
        if (r.failed()) {
          long expected = r.expected() != null ? r.expected() : Math.max(1, mean);
          lost += Math.max(0, expected - r.samples() - r.bad());
        }
      }
      return new Loss(good, bad, lost, failed, failedDownloads);
    }

    double fraction() {
      long all = good + bad + lost;
      return all == 0 ? 1.0 : (double) (bad + lost) / all;
    }
  }

  /** Scratch folders of earlier stagings of this key on this worker: a crash or kill left them. */
  private static void removeEarlierAttempts(Path keyDir) throws IOException {
    if (!Files.isDirectory(keyDir)) {
      return;
    }
    try (var dirs = Files.list(keyDir)) {
      for (Path d : dirs.toList()) {
        log.info("removing an earlier staging's scratch folder {}", d);
        deleteRecursively(d);
      }
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
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
      S3Uri source, Loss loss, StagingLimits limits, List<ShardStager.ShardResult> results) {
    Map<String, Integer> reasons = new LinkedHashMap<>();
    DataIssue first = null;
    for (ShardStager.ShardResult r : results) {
      for (DataIssue i : r.issues()) {
        reasons.merge(i.reason().replaceAll(" \\(.*$|:.*$", ""), 1, Integer::sum);
        if (first == null) first = i;
      }
    }
    long all = loss.good() + loss.bad() + loss.lost();
    return String.format(
        java.util.Locale.ROOT,
        "staging %s: %d of %d samples lost (%d bad, about %d in %d lost shard(s)): %.2f%% (limit"
            + " %.2f%%), %d lost shard(s) (limit %d); nothing was published: %s; first: %s",
        source,
        loss.bad() + loss.lost(),
        all,
        loss.bad(),
        loss.lost(),
        loss.failedShards(),
        100.0 * loss.fraction(),
        100 * limits.maxBadFraction(),
        loss.failedShards(),
        limits.maxFailedShards(),
        reasons,
        first == null ? "none" : first.shard() + " key '" + first.key() + "': " + first.reason());
  }
}
