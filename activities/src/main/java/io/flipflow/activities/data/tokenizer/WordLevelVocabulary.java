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
 * words by descending frequency (ties alphabetical) with at least {@code minCount} uses.
 */
public final class WordLevelVocabulary {
  public static final List<String> SPECIALS =
      List.of("[PAD]", "[UNK]", "<start_of_text>", "<end_of_text>");
  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

  private WordLevelVocabulary() {}

  /** The tokenizer.json bytes for a vocabulary of every word in {@code texts}. */
  public static byte[] build(Iterable<String> texts) {
    Map<String, Integer> counts = new TreeMap<>();
    try (HuggingFaceTokenizer splitter =
        HuggingFaceTokenizer.newInstance(
            new ByteArrayInputStream(json(Map.of("[UNK]", 0), List.of())),
            Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"))) {
      for (String text : texts) {
        var spans = splitter.encode(text, false, false).getCharTokenSpans();
        for (var span : spans) {
          String word = text.substring(span.getStart(), span.getEnd()).toLowerCase(Locale.ROOT);
          counts.merge(word, 1, Integer::sum);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<Map.Entry<String, Integer>> words = new ArrayList<>(counts.entrySet());
    words.sort(
        Map.Entry.<String, Integer>comparingByValue()
            .reversed()
            .thenComparing(Map.Entry.comparingByKey()));
    Map<String, Integer> vocab = new LinkedHashMap<>();
    for (String s : SPECIALS) {
      vocab.put(s, vocab.size());
    }
    for (var w : words) {
      vocab.putIfAbsent(w.getKey(), vocab.size());
    }
    return json(vocab, SPECIALS);
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
