package io.flipflow.activities.data.staging;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.data.webdataset.WdsReader;
import io.flipflow.activities.data.webdataset.WdsSample;
import java.awt.image.BufferedImage;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
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

  private record ShardResult(
      String source,
      long samples,
      long bad,
      List<DataIssue> issues,
      String bin,
      long bytes,
      String etag) {}

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
      List<Future<ShardResult>> futures = new ArrayList<>();
      java.util.concurrent.atomic.AtomicBoolean failed =
          new java.util.concurrent.atomic.AtomicBoolean();
      java.util.concurrent.atomic.AtomicReference<Throwable> firstFailure =
          new java.util.concurrent.atomic.AtomicReference<>();
      ImagePreprocessor pre = new ImagePreprocessor(request.resolution());
      for (int i = 0; i < shards.size(); i++) {
        int index = i;
        futures.add(
            pool.submit(
                () -> {
                  // once a shard has failed the attempt fails: start no further downloads
                  if (failed.get()) {
                    throw new java.util.concurrent.CancellationException("an earlier shard failed");
                  }
                  ShardResult r;
                  try {
                    r = stageShard(index, shards.get(index), root, dir, pre, tokenizer, listener);
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
      List<ShardResult> results = new ArrayList<>();
      try {
        for (Future<ShardResult> f : futures) {
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
      long good = results.stream().mapToLong(ShardResult::samples).sum();
      long bad = results.stream().mapToLong(ShardResult::bad).sum();
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

  private ShardResult stageShard(
      int index,
      S3Store.ObjectInfo src,
      S3Uri root,
      Path dir,
      ImagePreprocessor pre,
      CaptionTokenizer tokenizer,
      Listener listener)
      throws IOException {
    String name = String.format("%05d", index);
    S3Uri marker = root.resolve("shards/" + name + ".json");
    if (store.exists(marker)) { // finished by an earlier attempt
      ShardResult r =
          GSON.fromJson(
              new String(store.getBytes(marker), StandardCharsets.UTF_8), ShardResult.class);
      r.issues().forEach(listener::issue);
      return r;
    }
    String shardName = src.uri().toString();
    List<DataIssue> issues = new ArrayList<>();
    Path tar = dir.resolve(name + ".tar");
    Path bin = dir.resolve(name + ".bin");
    try {
      boolean verified = downloadVerified(src, tar) || downloadVerified(src, tar);
      long samples = 0;
      long bad = 0;
      if (!verified) {
        issues.add(
            new DataIssue(
                shardName,
                "",
                "size or checksum mismatch after re-download ("
                    + src.size()
                    + " bytes, ETag "
                    + src.etag()
                    + " expected)"));
        bad++;
      } else {
        int pixels = 3 * pre.resolution() * pre.resolution();
        int recordBytes = pixels + 4 * tokenizer.contextLength();
        byte[] record = new byte[recordBytes];
        int[] tokens = new int[tokenizer.contextLength()];
        ByteBuffer recordView = ByteBuffer.wrap(record).order(ByteOrder.LITTLE_ENDIAN);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(tar), 1 << 16);
            WdsReader reader = new WdsReader(in);
            OutputStream out = new BufferedOutputStream(Files.newOutputStream(bin), 1 << 16)) {
          String lastKey = "";
          while (true) {
            WdsSample s;
            try {
              s = reader.next();
            } catch (IOException e) {
              issues.add(
                  new DataIssue(
                      shardName, lastKey, "truncated tar after this key: " + e.getMessage()));
              bad++;
              break;
            }
            if (s == null) {
              if (!endsWithEofMarker(tar)) { // a cut inside a header reads as a clean end otherwise
                issues.add(
                    new DataIssue(
                        shardName,
                        lastKey,
                        "truncated tar after this key: no end-of-archive blocks"));
                bad++;
              }
              break;
            }
            lastKey = s.key();
            String problem = null;
            var image = s.image();
            var caption = s.caption();
            if (image.isEmpty()) {
              problem = "no image member (jpg, png or webp) among " + s.members().keySet();
            } else if (caption.isEmpty()) {
              problem = "missing caption (.txt)";
            } else if (caption.get().isEmpty()) {
              problem = "empty caption";
            }
            if (problem == null) {
              try {
                BufferedImage img = ImagePreprocessor.decode(image.get().getValue());
                pre.toChw(img, record, 0);
              } catch (IllegalArgumentException e) {
                problem = e.getMessage() + " (" + s.key() + "." + image.get().getKey() + ")";
              }
            }
            if (problem != null) {
              issues.add(new DataIssue(shardName, s.key(), problem));
              bad++;
              continue;
            }
            synchronized (tokenizer) { // one native tokenizer shared by the shard threads
              tokenizer.encodeInto(caption.get(), tokens, 0);
            }
            for (int i = 0; i < tokens.length; i++) {
              recordView.putInt(pixels + 4 * i, tokens[i]);
            }
            out.write(record);
            samples++;
          }
        }
      }
      issues.forEach(listener::issue);
      String binUri = "";
      long bytes = 0;
      String etag = "";
      if (samples > 0) {
        S3Store.ObjectInfo put = store.put(root.resolve("shards/" + name + ".bin"), bin);
        binUri = put.uri().toString();
        bytes = put.size();
        etag = put.etag();
      }
      ShardResult r = new ShardResult(shardName, samples, bad, issues, binUri, bytes, etag);
      store.put(
          marker, GSON.toJson(r).getBytes(StandardCharsets.UTF_8)); // after the .bin: marks it done
      return r;
    } finally {
      Files.deleteIfExists(tar);
      Files.deleteIfExists(bin);
    }
  }

  /** Downloads and checks size and, for single-part ETags (hex MD5), the MD5. */
  public boolean downloadVerified(S3Store.ObjectInfo src, Path target) throws IOException {
    store.download(src.uri(), target);
    long size = Files.size(target);
    if (size != src.size()) {
      log.warn("{}: {} bytes downloaded, {} listed", src.uri(), size, src.size());
      return false;
    }
    if (src.etag().matches("[0-9a-fA-F]{32}")) {
      String md5 = md5(target);
      if (!md5.equalsIgnoreCase(src.etag())) {
        log.warn("{}: MD5 {} differs from ETag {}", src.uri(), md5, src.etag());
        return false;
      }
    }
    return true;
  }

  /** A complete tar ends in (at least) two zero 512-byte blocks and is a whole number of blocks. */
  static boolean endsWithEofMarker(Path tar) throws IOException {
    long size = Files.size(tar);
    if (size < 1024 || size % 512 != 0) {
      return false;
    }
    try (var ch = java.nio.channels.FileChannel.open(tar)) {
      ByteBuffer tail = ByteBuffer.allocate(1024);
      while (tail.hasRemaining() && ch.read(tail, size - 1024 + tail.position()) > 0) {}
      for (byte b : tail.array()) {
        if (b != 0) return false;
      }
      return true;
    }
  }

  private static String md5(Path file) throws IOException {
    try (DigestInputStream in =
        new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("MD5"))) {
      in.transferTo(OutputStream.nullOutputStream());
      return HexFormat.of().formatHex(in.getMessageDigest().digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
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
          .append('\n');
      return HexFormat.of()
          .formatHex(d.digest(sb.toString().getBytes(StandardCharsets.UTF_8)))
          .substring(0, 24);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String summary(
      S3Uri source, long good, long bad, double limit, List<ShardResult> results) {
    Map<String, Integer> reasons = new LinkedHashMap<>();
    DataIssue first = null;
    for (ShardResult r : results) {
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
