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
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes WebDataset shards training-ready, in three steps that many workers can share. {@link #plan}
 * lists the shards and computes the content key (the sources' ETags and sizes, the tokenizer's
 * bytes, resolution and context length), and writes {@code plan.json} under {@code
 * STAGED_ROOT/<content key>/}. {@link #stageGroup} stages a range of shards: downloads each
 * verified (size, and MD5 of single-part ETags; once more on a mismatch), decodes and resizes every
 * image, tokenizes every caption and writes fixed records; each finished shard leaves a {@code
 * shards/NNNNN.json} marker (a retry resumes after it) and the group a {@code groups/} summary.
 * {@link #publish} checks what the whole set lost and writes {@code manifest.json}, which makes
 * every later staging of the same content return at once. {@link #stage} runs all three here.
 *
 * <p>Over 350 lines: the three steps share the plan's and summaries' formats and the loss checks'
 * messages; one group's pass is {@link GroupStager}, one shard's {@link ShardStager}, what a set
 * lost {@link StagingLoss}, the record format and reader their own classes.
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
      int parallelism,
      StagedManifest.Format format) {
    /** Raw records, as sets were staged before the encoded format. */
    public Request(
        String source,
        S3Uri stagedRoot,
        S3Uri tokenizer,
        int resolution,
        int contextLength,
        StagingLimits limits,
        int parallelism) {
      this(
          source,
          stagedRoot,
          tokenizer,
          resolution,
          contextLength,
          limits,
          parallelism,
          StagedManifest.Format.RAW);
    }

    public Request {
      if (format == null) throw new IllegalArgumentException("format is missing");
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
          source, stagedRoot, tokenizer, resolution, contextLength, newLimits, parallelism, format);
    }

    /** The same request in another record format. */
    public Request withFormat(StagedManifest.Format newFormat) {
      return new Request(
          source, stagedRoot, tokenizer, resolution, contextLength, limits, parallelism, newFormat);
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

  /** Shards one group activity stages, unless {@code staging.shards_per_group} says otherwise. */
  public static final int DEFAULT_SHARDS_PER_GROUP = 16;

  /**
   * What planning found: the plan in S3 (written unless the set is published), and the published
   * set when it exists already.
   */
  public record Planned(S3Uri planUri, StagingPlanFile plan, Optional<StagedManifest> published) {}

  /**
   * Shards [firstShard, endShard) of a planned staging, on this worker's limits and threads.
   *
   * @param source the data set as the user named it, for messages
   */
  public record GroupRequest(
      S3Uri planUri,
      String source,
      int firstShard,
      int endShard,
      StagingLimits limits,
      int parallelism) {
    public GroupRequest {
      if (firstShard < 0 || endShard <= firstShard) {
        throw new IllegalArgumentException(
            "shard group [" + firstShard + ", " + endShard + ") is empty or negative");
      }
      if (parallelism <= 0) {
        throw new IllegalArgumentException("parallelism must be positive, got " + parallelism);
      }
    }
  }

  /**
   * Stages the whole set in this process: {@link #plan}, every group of {@link
   * #DEFAULT_SHARDS_PER_GROUP} in turn, {@link #publish}, as the fan-out does over many workers.
   */
  public StagedManifest stage(Request request, Listener listener) {
    return stage(request, DEFAULT_SHARDS_PER_GROUP, listener);
  }

  public StagedManifest stage(Request request, int shardsPerGroup, Listener listener) {
    Planned planned = plan(request, listener);
    if (planned.published().isPresent()) {
      return planned.published().get();
    }
    int total = planned.plan().shardCount();
    long samplesBefore = 0;
    for (int first = 0; first < total; first += shardsPerGroup) {
      int end = Math.min(total, first + shardsPerGroup);
      GroupSummary group =
          stageGroup(
              new GroupRequest(
                  planned.planUri(),
                  request.source(),
                  first,
                  end,
                  request.limits(),
                  request.parallelism()),
              offset(listener, first, total, samplesBefore));
      samplesBefore += group.shards().stream().mapToLong(ShardStager.ShardResult::samples).sum();
    }
    return publish(planned.planUri(), request.source(), shardsPerGroup, request.limits(), listener);
  }

  /** Progress of one group as progress of the whole staging. */
  private static Listener offset(Listener whole, int shardsBefore, int total, long samplesBefore) {
    return new Listener() {
      @Override
      public void shardDone(int shardsDone, int shardsTotal, long samplesDone) {
        whole.shardDone(shardsBefore + shardsDone, total, samplesBefore + samplesDone);
      }

      @Override
      public void issue(DataIssue issue) {
        whole.issue(issue);
      }

      @Override
      public boolean stopRequested() {
        return whole.stopRequested();
      }

      @Override
      public AutoCloseable exclusive(String name) throws Exception {
        return whole.exclusive(name);
      }
    };
  }

  /**
   * Lists the shards, computes the content key and, unless that set is published, writes the plan
   * the groups stage from. Cheap next to staging: one listing and the tokenizer.
   */
  public Planned plan(Request request, Listener listener) {
    S3Uri source = S3Uri.parse(request.source());
    List<S3Store.ObjectInfo> shards = store.resolveShards(source, request.limits().maxShards());
    byte[] tokenizerJson = store.getBytes(request.tokenizer());
    try (CaptionTokenizer tokenizer =
        CaptionTokenizer.load(
            tokenizerJson, request.contextLength(), request.tokenizer().toString())) {
      String key = contentKey(shards, tokenizer.sha256(), request);
      S3Uri root = request.stagedRoot().resolve(key);
      S3Uri planUri = root.resolve("plan.json");
      StagingPlanFile plan =
          new StagingPlanFile(
              StagedManifest.FORMAT_VERSION,
              key,
              root.toString(),
              shards.size(),
              StagingPlanFile.CHUNK,
              request.tokenizer().toString(),
              tokenizer.sha256(),
              tokenizer.vocabSize(),
              request.resolution(),
              request.contextLength(),
              request.format());
      Optional<StagedManifest> done =
          published(root.resolve("manifest.json"), listener, request.limits());
      if (done.isEmpty() && !store.exists(planUri)) {
        for (int c = 0; c * plan.chunkSize() < shards.size(); c++) {
          List<StagingPlanFile.Source> chunk =
              shards
                  .subList(
                      c * plan.chunkSize(), Math.min(shards.size(), (c + 1) * plan.chunkSize()))
                  .stream()
                  .map(s -> new StagingPlanFile.Source(s.uri().toString(), s.size(), s.etag()))
                  .toList();
          store.put(
              root.resolve(StagingPlanFile.chunkName(c)),
              GSON.toJson(chunk).getBytes(StandardCharsets.UTF_8));
        }
        // the plan last: its presence means every chunk is there
        store.put(planUri, GSON.toJson(plan).getBytes(StandardCharsets.UTF_8));
      }
      return new Planned(planUri, plan, done);
    }
  }

  /**
   * Stages one group of a plan, or returns its summary when it is staged already. One stager per
   * group at a time ({@link Listener#exclusive}); within it, resumes after the finished shards.
   * Fails with bad input when the group alone loses more shards than the limits allow, so a huge
   * set with a broken part fails early instead of at the end.
   */
  public GroupSummary stageGroup(GroupRequest request, Listener listener) {
    StagingPlanFile plan = readPlan(request.planUri());
    if (request.endShard() > plan.shardCount()) {
      throw new IllegalArgumentException(
          "shard group ["
              + request.firstShard()
              + ", "
              + request.endShard()
              + ") is outside the plan's "
              + plan.shardCount()
              + " shards ("
              + request.planUri()
              + ")");
    }
    S3Uri root = S3Uri.parse(plan.root());
    S3Uri summaryUri =
        root.resolve(StagingPlanFile.groupName(request.firstShard(), request.endShard()));
    try {
      Optional<GroupSummary> done = readSummary(summaryUri);
      if (done.isEmpty()) {
        String name = plan.contentKey() + "/" + request.firstShard() + "-" + request.endShard();
        try (AutoCloseable alone = listener.exclusive(name)) {
          // the stager we waited for may have finished it meanwhile
          done = readSummary(summaryUri);
          if (done.isEmpty()) {
            done =
                Optional.of(
                    new GroupStager(store, workDir)
                        .stage(plan, request, sourcesOf(plan, request), listener, summaryUri));
          }
        }
      } else {
        reportIssuesAgain(root, done.get(), listener);
        int n = request.endShard() - request.firstShard();
        listener.shardDone(
            n, n, done.get().shards().stream().mapToLong(ShardStager.ShardResult::samples).sum());
      }
      StagingLoss loss = StagingLoss.of(done.get().shards());
      if (loss.failedShards() > request.limits().maxFailedShards()) {
        throw new IllegalArgumentException(
            StagingLoss.summary(
                request.source()
                    + " shards "
                    + request.firstShard()
                    + "-"
                    + (request.endShard() - 1),
                loss,
                request.limits(),
                List.of(done.get())));
      }
      return done.get();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(
          "staging shards of " + request.source() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Writes the manifest once every group of the plan is staged (by {@code shardsPerGroup}), after
   * checking what the whole set lost against the limits; returns the manifest already there when a
   * stager published it before.
   */
  public StagedManifest publish(
      S3Uri planUri, String source, int shardsPerGroup, StagingLimits limits, Listener listener) {
    StagingPlanFile plan = readPlan(planUri);
    S3Uri root = S3Uri.parse(plan.root());
    S3Uri manifestUri = root.resolve("manifest.json");
    Optional<StagedManifest> done = published(manifestUri, listener, limits);
    if (done.isPresent()) {
      return done.get();
    }
    List<GroupSummary> groups = new ArrayList<>();
    for (int first = 0; first < plan.shardCount(); first += shardsPerGroup) {
      int end = Math.min(plan.shardCount(), first + shardsPerGroup);
      S3Uri uri = root.resolve(StagingPlanFile.groupName(first, end));
      groups.add(
          readSummary(uri)
              .orElseThrow(
                  () ->
                      new IllegalStateException(
                          "cannot publish " + root + ": shard group " + uri + " is not staged")));
    }
    List<ShardStager.ShardResult> results =
        groups.stream().flatMap(g -> g.shards().stream()).toList();
    StagingLoss loss = StagingLoss.of(results);
    if (loss.good() == 0
        || loss.fraction() > limits.maxBadFraction()
        || loss.failedShards() > limits.maxFailedShards()) {
      throw new IllegalArgumentException(StagingLoss.summary(source, loss, limits, groups));
    }
    List<StagedManifest.Shard> staged =
        results.stream()
            .filter(r -> r.samples() > 0)
            .map(r -> new StagedManifest.Shard(r.bin(), r.samples(), r.bytes(), r.etag()))
            .toList();
    List<String> sources = new ArrayList<>(plan.shardCount());
    for (int c : plan.chunksOf(0, plan.shardCount())) {
      readChunk(root, c).forEach(s -> sources.add(s.uri()));
    }
    StagedManifest manifest =
        new StagedManifest(
            StagedManifest.FORMAT_VERSION,
            plan.contentKey(),
            root.toString(),
            loss.good(),
            loss.bad() + loss.lost(),
            staged,
            plan.tokenizer(),
            plan.tokenizerSha256(),
            plan.vocabSize(),
            plan.resolution(),
            plan.contextLength(),
            sources,
            loss.failedDownloads(),
            plan.formatOrRaw());
    store.put(manifestUri, GSON.toJson(manifest).getBytes(StandardCharsets.UTF_8));
    log.info(
        "staged {} samples from {} shards into {} ({} bad, {} lost shards counted as about {}"
            + " samples; {} that img2dataset could not download, skipped)",
        loss.good(),
        plan.shardCount(),
        root,
        loss.bad(),
        loss.failedShards(),
        loss.lost(),
        loss.failedDownloads());
    return manifest;
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

  /**
   * A group staged before still tells this staging's listener what it skipped (its markers keep the
   * issues), as a resumed shard does; a group without issues costs nothing here.
   */
  private void reportIssuesAgain(S3Uri root, GroupSummary group, Listener listener) {
    if (group.firstIssue() == null) {
      return;
    }
    for (int index = group.firstShard(); index < group.endShard(); index++) {
      S3Uri marker = root.resolve(ShardStager.markerName(index));
      if (store.exists(marker)) {
        GSON.fromJson(
                new String(store.getBytes(marker), StandardCharsets.UTF_8),
                ShardStager.ShardResult.class)
            .issues()
            .forEach(listener::issue);
      }
    }
  }

  /** The planned sources of a group's shards, from the plan's chunk files. */
  private List<S3Store.ObjectInfo> sourcesOf(StagingPlanFile plan, GroupRequest request) {
    S3Uri root = S3Uri.parse(plan.root());
    List<S3Store.ObjectInfo> sources = new ArrayList<>();
    for (int c : plan.chunksOf(request.firstShard(), request.endShard())) {
      List<StagingPlanFile.Source> chunk = readChunk(root, c);
      for (int i = 0; i < chunk.size(); i++) {
        int index = c * plan.chunkSize() + i;
        if (index >= request.firstShard() && index < request.endShard()) {
          StagingPlanFile.Source s = chunk.get(i);
          sources.add(new S3Store.ObjectInfo(S3Uri.parse(s.uri()), s.size(), s.etag()));
        }
      }
    }
    return sources;
  }

  private StagingPlanFile readPlan(S3Uri planUri) {
    if (!store.exists(planUri)) {
      throw new IllegalArgumentException("no staging plan at " + planUri + ": plan it first");
    }
    return GSON.fromJson(
        new String(store.getBytes(planUri), StandardCharsets.UTF_8), StagingPlanFile.class);
  }

  private List<StagingPlanFile.Source> readChunk(S3Uri root, int chunk) {
    return List.of(
        GSON.fromJson(
            new String(
                store.getBytes(root.resolve(StagingPlanFile.chunkName(chunk))),
                StandardCharsets.UTF_8),
            StagingPlanFile.Source[].class));
  }

  private Optional<GroupSummary> readSummary(S3Uri uri) {
    if (!store.exists(uri)) {
      return Optional.empty();
    }
    return Optional.of(
        GSON.fromJson(new String(store.getBytes(uri), StandardCharsets.UTF_8), GroupSummary.class));
  }

  /** A group's result in counts, for the workflow. */
  public record Counts(long samples, long bad, int lostShards, long failedDownloads) {}

  public static Counts counts(GroupSummary group) {
    StagingLoss loss = StagingLoss.of(group.shards());
    return new Counts(loss.good(), loss.bad(), loss.failedShards(), loss.failedDownloads());
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
      if (r.format() != StagedManifest.Format.RAW) { // raw keys stay as before the format existed
        sb.append("format ").append(r.format()).append('\n');
      }
      return HexFormat.of()
          .formatHex(d.digest(sb.toString().getBytes(StandardCharsets.UTF_8)))
          .substring(0, 24);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
