package io.flipflow.activities.data.staging;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's local cache of staged sets ({@code <root>/<content key>/}), bounded in bytes: when a
 * training takes a set, the least recently used other sets are deleted until the cache fits its
 * limit. Sets in use by a running training are never deleted. One per worker process.
 */
public final class StagedCache {
  private static final Logger log = LoggerFactory.getLogger(StagedCache.class);
  private static final String USED = ".last-used";

  private final Path root;
  private final long maxBytes;
  private final Map<String, Integer> inUse = new HashMap<>();

  public StagedCache(Path root, long maxBytes) {
    this.root = root;
    this.maxBytes = maxBytes;
  }

  /** The folder the staged reader caches into ({@code root}; sets live in subfolders). */
  public Path root() {
    return root;
  }

  /** Marks {@code contentKey} used now and in use until the lease closes, then makes room. */
  public synchronized AutoCloseable take(String contentKey) {
    inUse.merge(contentKey, 1, Integer::sum);
    try {
      Path set = Files.createDirectories(root.resolve(contentKey));
      Path used = set.resolve(USED);
      if (!Files.exists(used)) {
        Files.createFile(used);
      }
      Files.setLastModifiedTime(used, FileTime.fromMillis(System.currentTimeMillis()));
      evict();
    } catch (IOException e) {
      throw new UncheckedIOException("staged cache " + root + ": " + e.getMessage(), e);
    }
    return () -> release(contentKey);
  }

  private synchronized void release(String contentKey) {
    inUse.computeIfPresent(contentKey, (k, n) -> n > 1 ? n - 1 : null);
  }

  /** Total bytes of the cache now. */
  public long sizeBytes() throws IOException {
    return bytes(root);
  }

  private void evict() throws IOException {
    List<Path> sets;
    try (Stream<Path> s = Files.list(root)) {
      sets = s.filter(Files::isDirectory).toList();
    }
    long total = 0;
    Map<Path, Long> size = new HashMap<>();
    for (Path set : sets) {
      long b = bytes(set);
      size.put(set, b);
      total += b;
    }
    List<Path> oldestFirst =
        sets.stream()
            .filter(s -> !inUse.containsKey(s.getFileName().toString()))
            .sorted(Comparator.comparing(StagedCache::lastUsed))
            .toList();
    for (Path set : oldestFirst) {
      if (total <= maxBytes) {
        break;
      }
      log.info(
          "staged cache over {} bytes ({}): evicting {} ({} bytes, least recently used)",
          maxBytes,
          total,
          set.getFileName(),
          size.get(set));
      deleteRecursively(set);
      total -= size.get(set);
    }
    if (total > maxBytes) {
      log.warn(
          "staged cache holds {} bytes, over its {} limit, in sets that are in use",
          total,
          maxBytes);
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static FileTime lastUsed(Path set) {
    try {
      Path used = set.resolve(USED);
      return Files.getLastModifiedTime(Files.exists(used) ? used : set);
    } catch (IOException e) {
      return FileTime.fromMillis(0);
    }
  }

  private static long bytes(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return 0;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.filter(Files::isRegularFile)
          .mapToLong(
              p -> {
                try {
                  return Files.size(p);
                } catch (IOException e) {
                  return 0;
                }
              })
          .sum();
    }
  }
}
