package io.flipflow.activities.data.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Turns captions into the model's fixed-length token rows with HuggingFace tokenizers (through DJL,
 * offline): any {@code tokenizer.json} (ours from {@link WordLevelVocabulary}, or a CLIP BPE one a
 * user supplies). Contract: row length {@link #contextLength()}, {@code [SOT] tokens... [EOT]} then
 * zeros (pad id 0); too long a caption is cut so that EOT stays last.
 */
public final class CaptionTokenizer implements AutoCloseable {
  private static final List<String> SOT_NAMES = List.of("<start_of_text>", "<|startoftext|>");
  private static final List<String> EOT_NAMES = List.of("<end_of_text>", "<|endoftext|>");
  private static final List<String> UNK_NAMES = List.of("[UNK]", "<unk>", "<|unk|>");

  private final HuggingFaceTokenizer tokenizer;
  private final int contextLength;
  private final int vocabSize;
  private final int sot;
  private final int eot;
  private final int unk;
  private final String sha256;

  private CaptionTokenizer(byte[] json, int contextLength, String source) {
    if (contextLength < 3) {
      throw new IllegalArgumentException("context length must be at least 3, got " + contextLength);
    }
    this.contextLength = contextLength;
    JsonObject root;
    try {
      root = JsonParser.parseString(new String(json, StandardCharsets.UTF_8)).getAsJsonObject();
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "tokenizer " + source + " is not a tokenizer.json: " + e.getMessage(), e);
    }
    Map<String, Integer> ids = tokenIds(root);
    this.vocabSize = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    this.sot = find(ids, SOT_NAMES, source, "start-of-text");
    this.eot = find(ids, EOT_NAMES, source, "end-of-text");
    this.unk = UNK_NAMES.stream().filter(ids::containsKey).map(ids::get).findFirst().orElse(-1);
    this.sha256 = sha256(json);
    try {
      this.tokenizer =
          HuggingFaceTokenizer.newInstance(
              new ByteArrayInputStream(json),
              Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          "tokenizer " + source + " does not load: " + e.getMessage(), e);
    }
  }

  public static CaptionTokenizer load(Path tokenizerJson, int contextLength) {
    try {
      return new CaptionTokenizer(
          Files.readAllBytes(tokenizerJson), contextLength, tokenizerJson.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("reading tokenizer " + tokenizerJson, e);
    }
  }

  public static CaptionTokenizer load(byte[] tokenizerJson, int contextLength, String source) {
    return new CaptionTokenizer(tokenizerJson, contextLength, source);
  }

  /** One row of {@link #contextLength()} ids: SOT, the caption's tokens, EOT, zeros. */
  public int[] encode(String text) {
    int[] row = new int[contextLength];
    encodeInto(text, row, 0);
    return row;
  }

  /** Writes one row into {@code dst[offset .. offset + contextLength)}. */
  public void encodeInto(String text, int[] dst, int offset) {
    long[] ids = tokenizer.encode(text, false, false).getIds();
    int n = Math.min(ids.length, contextLength - 2);
    dst[offset] = sot;
    for (int i = 0; i < n; i++) {
      dst[offset + 1 + i] = Math.toIntExact(ids[i]);
    }
    dst[offset + 1 + n] = eot;
    java.util.Arrays.fill(dst, offset + 2 + n, offset + contextLength, 0);
  }

  /** The words of {@code text} this vocabulary does not know (empty for a byte-level BPE). */
  public List<String> unknownWords(String text) {
    List<String> out = new ArrayList<>();
    if (unk < 0) {
      return out;
    }
    Encoding e = tokenizer.encode(text, false, false);
    long[] ids = e.getIds();
    var spans = e.getCharTokenSpans();
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == unk) {
        out.add(
            spans != null && i < spans.length && spans[i] != null
                ? text.substring(spans[i].getStart(), spans[i].getEnd())
                : "?");
      }
    }
    return out;
  }

  /** Number of caption tokens before truncation (without SOT/EOT). */
  public int tokenCount(String text) {
    return tokenizer.encode(text, false, false).getIds().length;
  }

  public int contextLength() {
    return contextLength;
  }

  public int vocabSize() {
    return vocabSize;
  }

  public int sotId() {
    return sot;
  }

  public int eotId() {
    return eot;
  }

  /** Hex SHA-256 of the tokenizer.json bytes: part of the staged data's content address. */
  public String sha256() {
    return sha256;
  }

  private static Map<String, Integer> tokenIds(JsonObject root) {
    Map<String, Integer> ids = new java.util.HashMap<>();
    JsonObject model = root.has("model") ? root.getAsJsonObject("model") : new JsonObject();
    JsonElement vocab = model.get("vocab");
    if (vocab != null && vocab.isJsonObject()) {
      vocab
          .getAsJsonObject()
          .entrySet()
          .forEach(en -> ids.put(en.getKey(), en.getValue().getAsInt()));
    } else if (vocab != null && vocab.isJsonArray()) { // Unigram: [[piece, score], ...]
      var arr = vocab.getAsJsonArray();
      for (int i = 0; i < arr.size(); i++) {
        ids.put(arr.get(i).getAsJsonArray().get(0).getAsString(), i);
      }
    }
    if (root.has("added_tokens") && root.get("added_tokens").isJsonArray()) {
      for (JsonElement t : root.getAsJsonArray("added_tokens")) {
        ids.put(
            t.getAsJsonObject().get("content").getAsString(),
            t.getAsJsonObject().get("id").getAsInt());
      }
    }
    if (ids.isEmpty()) {
      throw new IllegalArgumentException("tokenizer.json has an empty vocabulary");
    }
    return ids;
  }

  private static int find(
      Map<String, Integer> ids, List<String> names, String source, String what) {
    return names.stream()
        .filter(ids::containsKey)
        .map(ids::get)
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "tokenizer "
                        + source
                        + " has no "
                        + what
                        + " token (looked for "
                        + names
                        + ")"));
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
