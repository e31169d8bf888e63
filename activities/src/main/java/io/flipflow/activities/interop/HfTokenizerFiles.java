package io.flipflow.activities.interop;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.model.ModelPreset;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer files OpenCLIP's {@code HFTokenizer} reads from a {@code local-dir:} model folder
 * without network ({@code transformers.AutoTokenizer.from_pretrained(DIR)}): {@code
 * tokenizer.json}, {@code tokenizer_config.json}, {@code special_tokens_map.json}.
 *
 * <p>flipflow adds start- and end-of-text itself ({@link CaptionTokenizer}: SOT, the caption's
 * tokens cut to {@code context - 2}, EOT, zeros); OpenCLIP calls the HF tokenizer with special
 * tokens on, {@code padding='max_length'}, {@code truncation=True}. The exported {@code
 * tokenizer.json} is flipflow's with a {@code TemplateProcessing} post-processor ({@code SOT $A
 * EOT}), and the pad token is the one with id 0, so both sides produce the same rows (the
 * equivalence test compares them). flipflow ignores the post-processor, so one file serves both.
 */
public final class HfTokenizerFiles {
  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();
  private static final List<String> UNK_NAMES = List.of("[UNK]", "<unk>", "<|unk|>");

  private HfTokenizerFiles() {}

  /**
   * Checks that {@code tokenizerJson} fits the preset's text tower: its ids fit in the embedding
   * table and its end-of-text is where the preset pools. Refusals name both sizes or ids.
   *
   * @param source the file, for messages
   */
  public static void checkFits(byte[] tokenizerJson, ModelPreset preset, String source) {
    try (CaptionTokenizer tokenizer =
        CaptionTokenizer.load(tokenizerJson, preset.contextLength(), source)) {
      if (tokenizer.vocabSize() > preset.vocabSize()) {
        throw new IllegalArgumentException(
            "tokenizer "
                + source
                + " has a vocabulary of "
                + tokenizer.vocabSize()
                + " tokens but the text tower of "
                + preset.name()
                + " embeds "
                + preset.vocabSize()
                + " (vocab_size): they must match");
      }
      if ("eos".equals(preset.textPooling()) && tokenizer.eotId() != preset.eosId()) {
        throw new IllegalArgumentException(
            "tokenizer "
                + source
                + " ends text with id "
                + tokenizer.eotId()
                + " but "
                + preset.name()
                + " pools at eos_id "
                + preset.eosId());
      }
      if ("argmax".equals(preset.textPooling()) && tokenizer.eotId() != tokenizer.vocabSize() - 1) {
        throw new IllegalArgumentException(
            "tokenizer "
                + source
                + " ends text with id "
                + tokenizer.eotId()
                + ", not its highest id "
                + (tokenizer.vocabSize() - 1)
                + ", but "
                + preset.name()
                + " pools at the highest id (pool_type argmax)");
      }
    }
  }

  /** Writes the three files into {@code dir} for a model of {@code contextLength} tokens. */
  public static void write(Path dir, byte[] tokenizerJson, int contextLength) throws IOException {
    JsonObject root =
        JsonParser.parseString(new String(tokenizerJson, StandardCharsets.UTF_8)).getAsJsonObject();
    Map<Integer, String> tokens = tokensById(root);
    int sot;
    int eot;
    try (CaptionTokenizer t = CaptionTokenizer.load(tokenizerJson, contextLength, "tokenizer")) {
      sot = t.sotId();
      eot = t.eotId();
    }
    String sotName = tokens.get(sot);
    String eotName = tokens.get(eot);
    String pad = tokens.get(0);
    if (pad == null) {
      throw new IllegalArgumentException("tokenizer.json has no token with id 0 to pad with");
    }
    root.add("post_processor", template(sotName, sot, eotName, eot));
    root.add("truncation", null);
    root.add("padding", null);
    Files.write(
        dir.resolve("tokenizer.json"),
        GSON.newBuilder().serializeNulls().create().toJson(root).getBytes(StandardCharsets.UTF_8));

    Map<String, Object> special = new LinkedHashMap<>();
    special.put("bos_token", sotName);
    special.put("eos_token", eotName);
    special.put("pad_token", pad);
    String unk = UNK_NAMES.stream().filter(tokens::containsValue).findFirst().orElse(null);
    if (unk != null) {
      special.put("unk_token", unk);
    }
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("tokenizer_class", "PreTrainedTokenizerFast");
    config.put("model_max_length", contextLength);
    config.putAll(special);
    config.put("padding_side", "right");
    config.put("truncation_side", "right");
    config.put("clean_up_tokenization_spaces", false);
    Files.writeString(
        dir.resolve("tokenizer_config.json"),
        new GsonBuilder().setPrettyPrinting().create().toJson(config));
    Files.writeString(
        dir.resolve("special_tokens_map.json"),
        new GsonBuilder().setPrettyPrinting().create().toJson(special));
  }

  private static JsonObject template(String sot, int sotId, String eot, int eotId) {
    JsonObject t = new JsonObject();
    t.addProperty("type", "TemplateProcessing");
    t.add("single", pieces(sot, eot, false));
    t.add("pair", pieces(sot, eot, true));
    JsonObject specials = new JsonObject();
    specials.add(sot, special(sot, sotId));
    specials.add(eot, special(eot, eotId));
    t.add("special_tokens", specials);
    return t;
  }

  private static JsonArray pieces(String sot, String eot, boolean pair) {
    JsonArray a = new JsonArray();
    a.add(piece("SpecialToken", sot, 0));
    a.add(piece("Sequence", "A", 0));
    if (pair) {
      a.add(piece("Sequence", "B", 1));
    }
    a.add(piece("SpecialToken", eot, 0));
    return a;
  }

  private static JsonObject piece(String kind, String id, int typeId) {
    JsonObject inner = new JsonObject();
    inner.addProperty("id", id);
    inner.addProperty("type_id", typeId);
    JsonObject o = new JsonObject();
    o.add(kind, inner);
    return o;
  }

  private static JsonObject special(String name, int id) {
    JsonObject o = new JsonObject();
    o.addProperty("id", name);
    JsonArray ids = new JsonArray();
    ids.add(id);
    o.add("ids", ids);
    JsonArray toks = new JsonArray();
    toks.add(name);
    o.add("tokens", toks);
    return o;
  }

  /** Token strings by id, from the model's vocabulary and the added tokens. */
  static Map<Integer, String> tokensById(JsonObject root) {
    Map<Integer, String> out = new HashMap<>();
    JsonObject model = root.has("model") ? root.getAsJsonObject("model") : new JsonObject();
    JsonElement vocab = model.get("vocab");
    if (vocab != null && vocab.isJsonObject()) {
      vocab.getAsJsonObject().entrySet().forEach(e -> out.put(e.getValue().getAsInt(), e.getKey()));
    } else if (vocab != null && vocab.isJsonArray()) {
      JsonArray arr = vocab.getAsJsonArray();
      for (int i = 0; i < arr.size(); i++) {
        out.put(i, arr.get(i).getAsJsonArray().get(0).getAsString());
      }
    }
    if (root.has("added_tokens") && root.get("added_tokens").isJsonArray()) {
      for (JsonElement t : root.getAsJsonArray("added_tokens")) {
        out.put(
            t.getAsJsonObject().get("id").getAsInt(),
            t.getAsJsonObject().get("content").getAsString());
      }
    }
    return out;
  }
}
