package io.flipflow.activities.eval;

import java.util.HashMap;
import java.util.Map;

/**
 * Full-image embeddings of one model, by the content of the encoded image, and text embeddings by
 * the text, shared by the sets of one evaluation: the emoji sets hold 9,234 images of which 3,241
 * are distinct (group and subgroup label the same pictures, the retrieval sets repeat them) and the
 * two label sets share their captions, so each is embedded once. Bounded by {@link #MAX_FLOATS};
 * beyond it, new inputs are embedded but not kept.
 */
public final class EmbeddingMemo {
  /** 128 MiB of floats: 32,768 images of a 1024-d model, far more of a small one. */
  public static final long MAX_FLOATS = 32L << 20;

  private final Map<String, float[]> byDigest = new HashMap<>();
  private final Map<String, float[]> byText = new HashMap<>();
  private final long maxFloats;
  private long floats;
  private long hits;

  private EmbeddingMemo(long maxFloats) {
    this.maxFloats = maxFloats;
  }

  /** A memo for one model's evaluation; do not share it between models. */
  public static EmbeddingMemo forOneModel() {
    return new EmbeddingMemo(MAX_FLOATS);
  }

  /** Keeps nothing: every image is embedded. */
  public static EmbeddingMemo none() {
    return new EmbeddingMemo(0);
  }

  /** The embedding of the image with this digest, or null; a null digest is never found. */
  synchronized float[] get(String digest) {
    float[] e = digest == null ? null : byDigest.get(digest);
    if (e != null) {
      hits++;
    }
    return e;
  }

  synchronized void put(String digest, float[] embedding) {
    if (digest != null
        && floats + embedding.length <= maxFloats
        && byDigest.putIfAbsent(digest, embedding) == null) {
      floats += embedding.length;
    }
  }

  /** The embedding of this text, or null. */
  synchronized float[] getText(String text) {
    float[] e = byText.get(text);
    if (e != null) {
      hits++;
    }
    return e;
  }

  synchronized void putText(String text, float[] embedding) {
    // a text costs its characters too: counted as floats, two chars each
    long cost = embedding.length + (text.length() + 1) / 2;
    if (floats + cost <= maxFloats && byText.putIfAbsent(text, embedding) == null) {
      floats += cost;
    }
  }

  /** Images and texts answered from the memo so far. */
  public synchronized long hits() {
    return hits;
  }
}
