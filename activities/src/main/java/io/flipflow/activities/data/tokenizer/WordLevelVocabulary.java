package io.flipflow.activities.data.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds a word-level {@code tokenizer.json} (lower-case, HuggingFace's {@code Whitespace}
 * pre-tokenizer: runs of word characters or of punctuation) from texts: the training captions plus
 * every class name, prompt and label of the evaluation sets, so that zero-shot prompts never
 * collapse to {@code [UNK]}. Words are cut by the library's own pre-tokenizer (through a
 * vocabulary-less copy of the same tokenizer), so the vocabulary matches what encoding will see.
 * Ids: 0 {@code [PAD]}, 1 {@code [UNK]}, 2 {@code <start_of_text>}, 3 {@code <end_of_text>}, then
 * words by descending frequency (ties alphabetical); a {@link Counter} keeps the most frequent
 * {@code maxWords} with at least {@code minCount} uses.
 */
public final class WordLevelVocabulary {
  public static final List<String> SPECIALS =
      List.of("[PAD]", "[UNK]", "<start_of_text>", "<end_of_text>");
  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

  private WordLevelVocabulary() {}

  /** Distinct words a {@link Counter} holds before it drops the rarest (bounds its memory). */
  public static final int MAX_DISTINCT_WORDS = 1_000_000;

  /** Longer "words" (hashes, URLs, base64) are never kept: they would only be [UNK] anyway. */
  public static final int MAX_WORD_CHARS = 48;

  /** The tokenizer.json bytes for a vocabulary of every word in {@code texts}. */
  public static byte[] build(Iterable<String> texts) {
    try (Counter counter = new Counter()) {
      texts.forEach(counter::add);
      return counter.tokenizerJson(Integer.MAX_VALUE, 1);
    }
  }

  /**
   * Counts the words of texts as they stream by (captions of many shards), in bounded memory: past
   * {@link #MAX_DISTINCT_WORDS} distinct words it drops the words seen least so far, which can only
   * undercount words too rare to make a vocabulary of a useful size.
   */
  public static final class Counter implements AutoCloseable {
    private final HuggingFaceTokenizer splitter;
    private final Map<String, Integer> counts = new java.util.HashMap<>();
    private long texts;
    private long droppedWords;

    public Counter() {
      try {
        splitter =
            HuggingFaceTokenizer.newInstance(
                new ByteArrayInputStream(json(Map.of("[UNK]", 0), List.of())),
                Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    public void add(String text) {
      texts++;
      for (var span : splitter.encode(text, false, false).getCharTokenSpans()) {
        if (span.getEnd() - span.getStart() > MAX_WORD_CHARS) {
          continue;
        }
        String word = text.substring(span.getStart(), span.getEnd()).toLowerCase(Locale.ROOT);
        counts.merge(word, 1, Integer::sum);
      }
      if (counts.size() > MAX_DISTINCT_WORDS) {
        dropRarest();
      }
    }

    /** Drops the words of the lowest counts until at most half the bound is left. */
    private void dropRarest() {
      for (int floor = 1; counts.size() > MAX_DISTINCT_WORDS / 2; floor++) {
        int f = floor;
        int before = counts.size();
        counts.values().removeIf(c -> c <= f);
        droppedWords += before - counts.size();
      }
    }

    /** Texts counted so far. */
    public long texts() {
      return texts;
    }

    /** Distinct words held now. */
    public int distinctWords() {
      return counts.size();
    }

    /** Distinct rare words dropped to stay within {@link #MAX_DISTINCT_WORDS}. */
    public long droppedWords() {
      return droppedWords;
    }

    /**
     * The tokenizer.json bytes for the {@code maxWords} most frequent words (ties alphabetical)
     * used at least {@code minCount} times, after the four special tokens.
     */
    public byte[] tokenizerJson(int maxWords, int minCount) {
      if (maxWords < 1 || minCount < 1) {
        throw new IllegalArgumentException(
            "maxWords and minCount must be positive, got " + maxWords + " and " + minCount);
      }
      List<Map.Entry<String, Integer>> words = new ArrayList<>();
      for (var e : new TreeMap<>(counts).entrySet()) {
        if (e.getValue() >= minCount && !SPECIALS.contains(e.getKey())) {
          words.add(e);
        }
      }
      words.sort(
          Map.Entry.<String, Integer>comparingByValue()
              .reversed()
              .thenComparing(Map.Entry.comparingByKey()));
      Map<String, Integer> vocab = new LinkedHashMap<>();
      for (String s : SPECIALS) {
        vocab.put(s, vocab.size());
      }
      for (var w : words.subList(0, Math.min(maxWords, words.size()))) {
        vocab.putIfAbsent(w.getKey(), vocab.size());
      }
      return json(vocab, SPECIALS);
    }

    @Override
    public void close() {
      splitter.close();
    }
  }

  private static byte[] json(Map<String, Integer> vocab, List<String> specials) {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("version", "1.0");
    root.put("truncation", null);
    root.put("padding", null);
    List<Map<String, Object>> added = new ArrayList<>();
    for (String s : specials) {
      Map<String, Object> t = new LinkedHashMap<>();
      t.put("id", vocab.get(s));
      t.put("content", s);
      t.put("single_word", false);
      t.put("lstrip", false);
      t.put("rstrip", false);
      t.put("normalized", false);
      t.put("special", true);
      added.add(t);
    }
    root.put("added_tokens", added);
    root.put("normalizer", Map.of("type", "Lowercase"));
    root.put("pre_tokenizer", Map.of("type", "Whitespace"));
    root.put("post_processor", null);
    root.put("decoder", null);
    Map<String, Object> model = new LinkedHashMap<>();
    model.put("type", "WordLevel");
    model.put("vocab", vocab);
    model.put("unk_token", "[UNK]");
    root.put("model", model);
    return GSON.newBuilder()
        .serializeNulls()
        .create()
        .toJson(root)
        .getBytes(StandardCharsets.UTF_8);
  }
}
