package io.flipflow.activities.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.checkpoint.CheckpointState;
import io.flipflow.activities.checkpoint.SafeTensors;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.device.Devices;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.model.TestPresets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Export and import refuse what does not map (issue 16, "Bad input"), each naming the file, the
 * preset field or config key, and both sizes where sizes disagree. No Python needed: the OpenCLIP
 * folders are flipflow's own exports, broken one way each.
 */
class OpenClipBadInputTest {
  static final byte[] TOKENIZER = WordLevelVocabulary.build(List.of("a red square", "a dog"));

  static ModelPreset flipForm() {
    return TestPresets.microFlipForm(3);
  }

  static Path checkpoint(Path dir, ModelPreset preset, byte[] tokenizer) throws Exception {
    Path ckpt = dir.resolve("ckpt-" + preset.name());
    try (ClipModel model = ClipModel.createOn(preset, Devices.cpu(), 1)) {
      CheckpointState state =
          new CheckpointState(
              CheckpointState.FORMAT,
              preset.name(),
              preset,
              null,
              3,
              24,
              24,
              1,
              CheckpointState.RNG_SCHEME,
              3,
              1f,
              new CheckpointState.Origin("run-1", "pretrain", "abc", 1));
      CheckpointDir.writeInto(ckpt, state, model, null, tokenizer);
    }
    return ckpt;
  }

  static IllegalArgumentException refused(Runnable r) {
    return assertThrows(IllegalArgumentException.class, r::run);
  }

  @Test
  void exportRefusesPresetsOpenClipCannotExpressAndMissingTokenizers(@TempDir Path dir)
      throws Exception {
    Path legacy = checkpoint(dir, TestPresets.micro(), TOKENIZER);
    var e = refused(() -> OpenClipExport.export(legacy, dir.resolve("out1"), null, null));
    assertTrue(e.getMessage().contains("classToken is false"), e.getMessage());

    Path noTokenizer = checkpoint(dir, flipForm(), null);
    e =
        refused(
            () -> OpenClipExport.export(noTokenizer, dir.resolve("out2"), null, "s3://x/y.tar"));
    assertTrue(e.getMessage().contains("s3://x/y.tar carries no tokenizer.json"), e.getMessage());
    assertTrue(e.getMessage().contains("--tokenizer"), e.getMessage());

    // a vocabulary larger than the text tower's table: both sizes
    List<String> many = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      many.add("word" + i);
    }
    Path big = checkpoint(dir, flipForm(), WordLevelVocabulary.build(many));
    e = refused(() -> OpenClipExport.export(big, dir.resolve("out3"), null, null));
    assertTrue(e.getMessage().contains("vocabulary of 44 tokens"), e.getMessage());
    assertTrue(e.getMessage().contains("embeds 32"), e.getMessage());

    // eosId that is not the tokenizer's end of text
    ModelPreset eos4 =
        new ModelPreset(
            "micro-eos4",
            32,
            8,
            64,
            2,
            2,
            2.0,
            32,
            32,
            8,
            64,
            2,
            2,
            "eos",
            4,
            true,
            "sin_cos_2d",
            false,
            "avg");
    Path wrongEos = checkpoint(dir, eos4, TOKENIZER);
    e = refused(() -> OpenClipExport.export(wrongEos, dir.resolve("out4"), null, null));
    assertTrue(e.getMessage().contains("ends text with id 3"), e.getMessage());
    assertTrue(e.getMessage().contains("eos_id 4"), e.getMessage());
  }

  @Test
  void importRefusesUnsupportedPartsNamingTheConfigKey() {
    Map<String, String> cases = new LinkedHashMap<>();
    cases.put("\"vision_cfg\": {\"timm_model_name\": \"vit_base\"}", "vision_cfg.timm_model_name");
    cases.put("\"vision_cfg\": {\"attentional_pool\": true}", "vision_cfg.attentional_pool");
    cases.put("\"vision_cfg\": {\"qk_norm\": true}", "vision_cfg.qk_norm");
    cases.put("\"vision_cfg\": {\"ls_init_value\": 0.1}", "vision_cfg.ls_init_value");
    cases.put("\"vision_cfg\": {\"layers\": [3, 4, 6, 3]}", "vision_cfg.layers");
    cases.put("\"vision_cfg\": {\"pool_type\": \"none\"}", "vision_cfg.pool_type");
    cases.put(
        "\"vision_cfg\": {\"pool_type\": \"avg\", \"final_ln_after_pool\": false}",
        "vision_cfg.final_ln_after_pool");
    cases.put("\"vision_cfg\": {\"rope\": true}", "vision_cfg.rope");
    cases.put("\"text_cfg\": {\"hf_model_name\": \"roberta-base\"}", "text_cfg.hf_model_name");
    cases.put("\"text_cfg\": {\"no_causal_mask\": true}", "text_cfg.no_causal_mask");
    cases.put("\"text_cfg\": {\"pool_type\": \"last\"}", "text_cfg.pool_type");
    cases.put("\"text_cfg\": {\"pool_type\": \"first\"}", "text_cfg.pool_type 'first'");
    cases.put("\"text_cfg\": {\"mlp_ratio\": 2.0}", "text_cfg.mlp_ratio");
    cases.put("\"quick_gelu\": true", "quick_gelu");
    cases.put("\"init_logit_bias\": -10", "init_logit_bias");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      JsonObject base =
          JsonParser.parseString(
                  "{\"embed_dim\": 32, \"vision_cfg\": {\"image_size\": 32, \"patch_size\": 8,"
                      + " \"width\": 64, \"head_width\": 32, \"layers\": 2},"
                      + " \"text_cfg\": {\"context_length\": 8, \"vocab_size\": 32, \"width\": 64,"
                      + " \"heads\": 2, \"layers\": 2}}")
              .getAsJsonObject();
      JsonObject patch = JsonParser.parseString("{" + c.getKey() + "}").getAsJsonObject();
      for (var kv : patch.entrySet()) {
        if (kv.getValue().isJsonObject() && base.has(kv.getKey())) {
          kv.getValue()
              .getAsJsonObject()
              .entrySet()
              .forEach(
                  inner -> base.getAsJsonObject(kv.getKey()).add(inner.getKey(), inner.getValue()));
        } else {
          base.add(kv.getKey(), kv.getValue());
        }
      }
      var e = refused(() -> OpenClipConfig.fromOpenClip(base, "x", "cfg.json"));
      assertTrue(
          e.getMessage().startsWith("cfg.json: " + c.getValue()),
          c.getKey() + " -> " + e.getMessage());
    }
  }

  @Test
  void importRefusesBrokenFoldersNamingFileKeyAndSizes(@TempDir Path dir) throws Exception {
    Path good = dir.resolve("good");
    OpenClipExport.export(checkpoint(dir, flipForm(), TOKENIZER), good, null, null);
    // the export itself imports back as the same preset
    OpenClipImport.Result back =
        OpenClipImport.importModel(good, null, null, "micro-flip", dir.resolve("back"));
    assertEquals(flipForm(), back.preset());

    // truncated weights
    Path weights = good.resolve(OpenClipExport.WEIGHTS);
    byte[] whole = Files.readAllBytes(weights);
    Files.write(weights, java.util.Arrays.copyOf(whole, whole.length / 2));
    var e = refused(() -> OpenClipImport.importModel(good, null, null, null, dir.resolve("t")));
    assertTrue(e.getMessage().contains(weights.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("is truncated"), e.getMessage());
    Files.write(weights, whole);

    // a tensor of a part flipflow does not have, and one missing
    Map<String, SafeTensors.FloatTensor> tensors = new LinkedHashMap<>();
    try (SafeTensors.Reader r = SafeTensors.open(weights)) {
      for (var en : r.entries().values()) {
        tensors.put(en.name(), new SafeTensors.FloatTensor(en.shape(), r.floats(en.name())));
      }
    }
    var extra = new LinkedHashMap<>(tensors);
    extra.put("visual.attn_pool.query", new SafeTensors.FloatTensor(new long[] {2}, new float[2]));
    SafeTensors.write(weights, extra, Map.of());
    e = refused(() -> OpenClipImport.importModel(good, null, null, null, dir.resolve("t")));
    assertTrue(e.getMessage().contains("visual.attn_pool.query"), e.getMessage());
    var missing = new LinkedHashMap<>(tensors);
    missing.remove("visual.ln_post.bias");
    SafeTensors.write(weights, missing, Map.of());
    e = refused(() -> OpenClipImport.importModel(good, null, null, null, dir.resolve("t")));
    assertTrue(
        e.getMessage().contains("lacks tensors of its config: [visual.ln_post.bias]"),
        e.getMessage());
    var reshaped = new LinkedHashMap<>(tensors);
    reshaped.put("visual.proj", new SafeTensors.FloatTensor(new long[] {32, 64}, new float[2048]));
    SafeTensors.write(weights, reshaped, Map.of());
    e = refused(() -> OpenClipImport.importModel(good, null, null, null, dir.resolve("t")));
    assertTrue(e.getMessage().contains("visual.proj is [32, 64]"), e.getMessage());
    assertTrue(e.getMessage().contains("[64, 32]"), e.getMessage());
    Files.write(weights, whole);

    // a tokenizer larger than vocab_size: both sizes
    List<String> many = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      many.add("word" + i);
    }
    Files.write(good.resolve("tokenizer.json"), WordLevelVocabulary.build(many));
    e = refused(() -> OpenClipImport.importModel(good, null, null, null, dir.resolve("t")));
    assertTrue(e.getMessage().contains("vocabulary of 44 tokens"), e.getMessage());
    assertTrue(e.getMessage().contains("embeds 32 (vocab_size)"), e.getMessage());
    HfTokenizerFiles.write(good, TOKENIZER, 8);

    // preprocessing flipflow does not apply
    Path config = good.resolve(OpenClipExport.CONFIG);
    String json = Files.readString(config);
    Files.writeString(config, json.replace("\"bicubic\"", "\"bilinear\""));
    e = refused(() -> OpenClipImport.importModel(good, null, null, null, dir.resolve("t")));
    assertTrue(e.getMessage().contains("preprocess_cfg.interpolation 'bilinear'"), e.getMessage());
    Files.writeString(config, json);

    // only a PyTorch pickle: refused with the conversion
    Files.delete(weights);
    Files.write(good.resolve("open_clip_pytorch_model.bin"), new byte[] {1, 2, 3});
    e = refused(() -> OpenClipImport.importModel(good, null, null, null, dir.resolve("t")));
    assertTrue(e.getMessage().contains("is a PyTorch pickle"), e.getMessage());
    assertTrue(e.getMessage().contains("safetensors.torch"), e.getMessage());
  }
}
