package io.flipflow.activities.data.s3;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An {@code s3://bucket/key} reference. The key may be a prefix (folder) or, for shard lists, a
 * brace pattern as OpenCLIP/WebDataset write them: {@code s3://b/p/{00000..00041}.tar}.
 */
public record S3Uri(String bucket, String key) {

  private static final Pattern BRACE = Pattern.compile("\\{(\\d+)\\.\\.(\\d+)\\}");

  public S3Uri {
    if (bucket == null || bucket.isBlank()) {
      throw new IllegalArgumentException("S3 URI has no bucket");
    }
    key = key == null ? "" : key;
  }

  /** Parses {@code s3://bucket[/key]}; anything else is an IllegalArgumentException naming it. */
  public static S3Uri parse(String uri) {
    if (uri == null || !uri.startsWith("s3://")) {
      throw new IllegalArgumentException("not an s3:// URI: '" + uri + "'");
    }
    String rest = uri.substring("s3://".length());
    int slash = rest.indexOf('/');
    String bucket = slash < 0 ? rest : rest.substring(0, slash);
    String key = slash < 0 ? "" : rest.substring(slash + 1);
    if (bucket.isEmpty()) {
      throw new IllegalArgumentException("S3 URI has no bucket: '" + uri + "'");
    }
    return new S3Uri(bucket, key);
  }

  /** The key with exactly one trailing slash, or "" for the bucket root: a folder to list. */
  public String prefix() {
    return key.isEmpty() || key.endsWith("/") ? key : key + "/";
  }

  /** A child of this URI taken as a folder. */
  public S3Uri resolve(String child) {
    return new S3Uri(bucket, prefix() + child);
  }

  /** The last path segment of the key. */
  public String fileName() {
    String k = key.endsWith("/") ? key.substring(0, key.length() - 1) : key;
    return k.substring(k.lastIndexOf('/') + 1);
  }

  /** The folder holding this key, as a URI ending in '/'. */
  public S3Uri parent() {
    int slash = key.lastIndexOf('/', key.endsWith("/") ? key.length() - 2 : key.length());
    return new S3Uri(bucket, slash < 0 ? "" : key.substring(0, slash + 1));
  }

  public boolean isBracePattern() {
    return BRACE.matcher(key).find();
  }

  /**
   * Expands brace ranges like WebDataset's braceexpand: {@code {00000..00003}} keeps the width of
   * the first bound. Several ranges expand as a cartesian product, left to right.
   */
  public List<S3Uri> expand() {
    return expand(Long.MAX_VALUE);
  }

  /** How many URIs the pattern names, counted without expanding it (1 for a plain URI). */
  public double patternSize() {
    Matcher m = BRACE.matcher(key);
    double n = 1;
    while (m.find()) {
      n *= Math.max(0, Double.parseDouble(m.group(2)) - Double.parseDouble(m.group(1)) + 1);
    }
    return n;
  }

  /**
   * As {@link #expand()}, refusing (before expanding) a pattern that names more than {@code max}.
   */
  public List<S3Uri> expand(long max) {
    if (patternSize() > max) {
      throw new IllegalArgumentException(
          String.format(
              java.util.Locale.ROOT,
              "%s names %.3g shards, over the limit of %d (staging.max_shards)",
              this,
              patternSize(),
              max));
    }
    List<String> keys = new ArrayList<>();
    expandInto(key, keys);
    return keys.stream().map(k -> new S3Uri(bucket, k)).toList();
  }

  private static void expandInto(String pattern, List<String> out) {
    Matcher m = BRACE.matcher(pattern);
    if (!m.find()) {
      out.add(pattern);
      return;
    }
    String lo = m.group(1);
    String hi = m.group(2);
    long from = Long.parseLong(lo);
    long to = Long.parseLong(hi);
    if (to < from) {
      throw new IllegalArgumentException("brace range runs backwards in '" + pattern + "'");
    }
    if (to - from > 1_000_000) {
      throw new IllegalArgumentException("brace range too large in '" + pattern + "'");
    }
    int width = lo.length();
    for (long i = from; i <= to; i++) {
      String n = String.format("%0" + width + "d", i);
      expandInto(pattern.substring(0, m.start()) + n + pattern.substring(m.end()), out);
    }
  }

  @Override
  public String toString() {
    return "s3://" + bucket + "/" + key;
  }
}
