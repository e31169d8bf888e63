package io.flipflow.activities.data.webdataset;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One WebDataset sample: the members of a tar that share a key, by extension ({@code png}, {@code
 * txt}, {@code json}, ...). Keys and extensions split at the first dot of the file name, as
 * WebDataset's {@code base_plus_ext} does.
 */
public record WdsSample(String key, Map<String, byte[]> members, Map<String, Long> oversized) {
  public static final List<String> IMAGE_EXTENSIONS = List.of("jpg", "jpeg", "png", "webp");

  /**
   * @param oversized members left unread because they were over the reader's size limit, by
   *     extension, with their size
   */
  public WdsSample {
    members = new LinkedHashMap<>(members);
    oversized = oversized == null ? Map.of() : Map.copyOf(oversized);
  }

  public WdsSample(String key, Map<String, byte[]> members) {
    this(key, members, Map.of());
  }

  public static WdsSample of(String key, String ext, byte[] bytes) {
    return new WdsSample(key, Map.of(ext, bytes));
  }

  /** The first image member (jpg, jpeg, png, webp), if any. */
  public Optional<Map.Entry<String, byte[]>> image() {
    for (String ext : IMAGE_EXTENSIONS) {
      if (members.containsKey(ext)) {
        return Optional.of(Map.entry(ext, members.get(ext)));
      }
    }
    return Optional.empty();
  }

  /** The caption ({@code txt} member, UTF-8, trimmed), if any. */
  public Optional<String> caption() {
    byte[] txt = members.get("txt");
    return txt == null
        ? Optional.empty()
        : Optional.of(new String(txt, StandardCharsets.UTF_8).trim());
  }

  public Optional<String> json() {
    byte[] json = members.get("json");
    return json == null ? Optional.empty() : Optional.of(new String(json, StandardCharsets.UTF_8));
  }
}
