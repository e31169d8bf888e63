package io.flipflow.activities.data.staging;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's local cache of staged shards ({@code <root>/<content key>/NNNNN.bin}), bounded in
 * bytes and least-recently-used by shard: before a reader downloads a shard, the least recently
 * used shards no reader holds are deleted until the new one fits. A reader holds the shards of its
 * current and next window, so a set larger than the worker's disk streams through the cache, and
 * sets that fit stay for the next run. One per worker process; the shards an earlier process left
 * are taken over, ordered by their files' modification times.
 */
public final class StagedCache {
  private static final Logger log = LoggerFactory.getLogger(StagedCache.class);

  private final Path root;
  private final long maxBytes;
  // every cached shard file and its size, least recently used first
  private final LinkedHashMap<Path, Long> files = new LinkedHashMap<>(64, 0.75f, true);
  private final Map<Path, Integer> holds = new HashMap<>();
  private long bytes;
  private long evictions;

  public StagedCache(Path root, long maxBytes) {
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("staged cache bound must be positive, got " + maxBytes);
    }
    this.root = root;
    this.maxBytes = maxBytes;
    takeOver();
  }

  /** A cache with no bound (tools and tests). */
  public static StagedCache unbounded(Path root) {
    return new StagedCache(root, Long.MAX_VALUE);
  }

  /** The folder the cache keeps its sets in, one subfolder per content key. */
  public Path root() {
    return root;
  }

  /** Where shard {@code shard} of the set {@code contentKey} is cached. */
  public Path shardFile(String contentKey, int shard) {
    return root.resolve(contentKey).resolve(String.format("%05d.bin", shard));
  }

  /** Keeps {@code file} until as many {@link #release}s, and marks it used now. */
  public synchronized void hold(Path file) {
    holds.merge(file, 1, Integer::sum);
    files.get(file); // access order: used now
  }

  public synchronized void release(Path file) {
    holds.computeIfPresent(file, (f, n) -> n > 1 ? n - 1 : null);
  }

  /**
   * Makes room for {@code size} bytes at {@code file}, which the caller downloads next, by evicting
   * the least recently used shards nobody holds, and counts it in. When held shards alone exceed
   * the bound it says so and goes on: a reader's two windows must fit on disk.
   */
  public synchronized void admit(Path file, long size) {
    Long before = files.remove(file);
    if (before != null) {
      bytes -= before;
    }
    Iterator<Map.Entry<Path, Long>> oldestFirst = files.entrySet().iterator();
    while (bytes + size > maxBytes && oldestFirst.hasNext()) {
      Map.Entry<Path, Long> e = oldestFirst.next();
      if (holds.containsKey(e.getKey())) {
        continue;
      }
      delete(e.getKey());
      bytes -= e.getValue();
      evictions++;
      oldestFirst.remove();
    }
    if (bytes + size > maxBytes) {
      log.warn(
          "staged cache at {}: {} bytes held by readers and {} more for {}, over its bound of {};"
              + " raise worker.staged_cache_bytes above two windows of shards",
          root,
          bytes,
          size,
          file.getFileName(),
          maxBytes);
    }
    files.put(file, size);
    bytes += size;
  }

  /** Counts in {@code file}, found on disk at {@code size} bytes, if it is not counted yet. */
  public synchronized void present(Path file, long size) {
    if (!files.containsKey(file)) {
      files.put(file, size);
      bytes += size;
    }
  }

  /** Forgets {@code file} (its download failed; it is not on disk). */
  public synchronized void forget(Path file) {
    Long size = files.remove(file);
    if (size != null) {
      bytes -= size;
    }
  }

  /** Bytes of the shards the cache counts now. */
  public synchronized long sizeBytes() {
    return bytes;
  }

  /** The bound, in bytes. */
  public long maxBytes() {
    return maxBytes;
  }

  /** Shards deleted to make room, since this process started. */
  public synchronized long evictions() {
    return evictions;
  }

  private void delete(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      throw new UncheckedIOException("staged cache: deleting " + file + ": " + e.getMessage(), e);
    }
  }

  /** Counts in what an earlier process left, oldest first; partial downloads are removed. */
  private void takeOver() {
    if (!Files.isDirectory(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root, 2)) {
      List<Path> found = walk.filter(Files::isRegularFile).toList();
      record Entry(Path file, long size, long modified) {}
      List<Entry> entries = new java.util.ArrayList<>();
      for (Path f : found) {
        if (f.getFileName().toString().endsWith(".bin")) {
          entries.add(new Entry(f, Files.size(f), Files.getLastModifiedTime(f).toMillis()));
        } else {
          Files.deleteIfExists(f); // a download a crash interrupted, or an older cache's marker
        }
      }
      entries.sort(Comparator.comparingLong(Entry::modified));
      for (Entry e : entries) {
        files.put(e.file(), e.size());
        bytes += e.size();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("staged cache " + root + ": " + e.getMessage(), e);
    }
  }
}
