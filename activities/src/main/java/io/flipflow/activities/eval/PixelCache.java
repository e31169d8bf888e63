package io.flipflow.activities.eval;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Decoded, preprocessed evaluation images of one worker, kept between evaluation phases and runs:
 * the pretrained and the tuned evaluation of a run, and every run on the same sets, decode each
 * image once. Keyed by what fixes the pixels (the set's content, the image, the preprocessing);
 * bounded in bytes, least recently used out first. Thread-safe. Hand-written: an access-ordered
 * LinkedHashMap with a byte budget is all it takes.
 */
public final class PixelCache {
  private final long maxBytes;
  private final LinkedHashMap<String, byte[]> entries = new LinkedHashMap<>(1024, 0.75f, true);
  private long bytes;
  private long hits;
  private long misses;

  /**
   * @param maxBytes the budget; 0 turns the cache off
   */
  public PixelCache(long maxBytes) {
    this.maxBytes = maxBytes;
  }

  /** No cache: every image is decoded every time. */
  public static PixelCache none() {
    return new PixelCache(0);
  }

  public synchronized byte[] get(String key) {
    byte[] pixels = entries.get(key);
    if (pixels == null) {
      misses++;
    } else {
      hits++;
    }
    return pixels;
  }

  public synchronized void put(String key, byte[] pixels) {
    if (pixels.length > maxBytes) {
      return;
    }
    byte[] old = entries.put(key, pixels);
    bytes += pixels.length - (old == null ? 0 : old.length);
    Iterator<Map.Entry<String, byte[]>> oldest = entries.entrySet().iterator();
    while (bytes > maxBytes && oldest.hasNext()) {
      bytes -= oldest.next().getValue().length;
      oldest.remove();
    }
  }

  public synchronized long hits() {
    return hits;
  }

  public synchronized long misses() {
    return misses;
  }

  public synchronized long bytes() {
    return bytes;
  }
}
