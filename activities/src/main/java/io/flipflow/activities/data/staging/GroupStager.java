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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * One shard group's staging while its stager holds the group's lock: a private scratch folder, the
 * shards on a pool of the request's threads (the first failure stops the rest, named by its shard),
 * and the group's summary in S3.
 */
final class GroupStager {
  private static final Logger log = LoggerFactory.getLogger(GroupStager.class);
  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

  private final S3Store store;
  private final Path workDir;

  GroupStager(S3Store store, Path workDir) {
    this.store = store;
    this.workDir = workDir;
  }

  GroupSummary stage(
      StagingPlanFile plan,
      StageData.GroupRequest request,
      List<S3Store.ObjectInfo> sources,
      StageData.Listener listener,
      S3Uri summaryUri)
      throws IOException {
    S3Uri root = S3Uri.parse(plan.root());
    S3Uri tokenizerUri = S3Uri.parse(plan.tokenizer());
    try (CaptionTokenizer tokenizer =
        CaptionTokenizer.load(
            store.getBytes(tokenizerUri), plan.contextLength(), tokenizerUri.toString())) {
      if (!tokenizer.sha256().equals(plan.tokenizerSha256())) {
        throw new IllegalArgumentException(
            "tokenizer "
                + tokenizerUri
                + " changed since staging "
                + request.source()
                + " was planned: start the staging again");
      }
      Path groupDir =
          workDir
              .resolve("stage-" + plan.contentKey())
              .resolve(request.firstShard() + "-" + request.endShard());
      removeEarlierAttempts(groupDir); // nobody else stages this group now: those are leftovers
      Path dir = Files.createDirectories(groupDir.resolve("attempt-" + UUID.randomUUID()));
      try {
        List<ShardStager.ShardResult> results =
            stageShards(
                plan, request, listener, sources, tokenizer, root, dir, request.firstShard());
        Map<String, Integer> reasons = new LinkedHashMap<>();
        StageData.DataIssue first = null;
        List<ShardStager.ShardResult> slim = new ArrayList<>();
        for (ShardStager.ShardResult r : results) {
          for (StageData.DataIssue i : r.issues()) {
            reasons.merge(StagingLoss.reasonKind(i.reason()), 1, Integer::sum);
            if (first == null) first = i;
          }
          slim.add(r.withoutIssues());
        }
        GroupSummary summary =
            new GroupSummary(request.firstShard(), request.endShard(), slim, reasons, first);
        store.put(summaryUri, GSON.toJson(summary).getBytes(StandardCharsets.UTF_8));
        return summary;
      } finally {
        deleteRecursively(dir);
      }
    }
  }

  private List<ShardStager.ShardResult> stageShards(
      StagingPlanFile plan,
      StageData.GroupRequest request,
      StageData.Listener listener,
      List<S3Store.ObjectInfo> shards,
      CaptionTokenizer tokenizer,
      S3Uri root,
      Path dir,
      int firstIndex) {
    ExecutorService pool =
        Executors.newFixedThreadPool(
            request.parallelism(),
            r -> {
              Thread t = new Thread(r, "stage-" + plan.contentKey().substring(0, 6));
              t.setDaemon(true);
              return t;
            });
    AtomicInteger done = new AtomicInteger();
    AtomicLong samplesDone = new AtomicLong();
    List<Future<ShardStager.ShardResult>> futures = new ArrayList<>();
    AtomicBoolean failed = new AtomicBoolean();
    AtomicReference<Throwable> firstFailure = new AtomicReference<>();
    ImagePreprocessor pre = new ImagePreprocessor(plan.resolution());
    ShardStager stager = new ShardStager(store, request.limits());
    for (int i = 0; i < shards.size(); i++) {
      int index = firstIndex + i;
      S3Store.ObjectInfo shard = shards.get(i);
      futures.add(
          pool.submit(
              () -> {
                // once a shard has failed the attempt fails: start no further downloads
                if (failed.get()) {
                  throw new CancellationException("an earlier shard failed");
                }
                if (listener.stopRequested()) {
                  StageData.Cancelled stop =
                      new StageData.Cancelled("staging stopped on request before shard " + index);
                  firstFailure.compareAndSet(null, stop);
                  failed.set(true);
                  throw stop;
                }
                ShardStager.ShardResult r;
                try {
                  r =
                      stager.stage(
                          index, shard, root, dir, pre, plan.formatOrRaw(), tokenizer, listener);
                } catch (IOException | RuntimeException e) {
                  RuntimeException named = namingTheShard(shard.uri(), e);
                  firstFailure.compareAndSet(null, named);
                  failed.set(true);
                  throw named;
                } catch (Error e) {
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
   * A shard's failure with the shard in its message, keeping whether it is bad input ({@code
   * IllegalArgumentException}, not retried) or transient (anything else, retried).
   */
  private static RuntimeException namingTheShard(S3Uri shard, Exception e) {
    String message = String.valueOf(e.getMessage());
    if (message.contains(shard.toString())) {
      return e instanceof RuntimeException re ? re : new UncheckedIOException((IOException) e);
    }
    if (e instanceof IllegalArgumentException) {
      return new IllegalArgumentException(shard + ": " + message, e);
    }
    if (e instanceof IOException io) {
      return new UncheckedIOException(shard + ": " + message, io);
    }
    if (e instanceof UncheckedIOException io) {
      return new UncheckedIOException(shard + ": " + message, io.getCause());
    }
    return new IllegalStateException(shard + ": " + e, e);
  }
}
