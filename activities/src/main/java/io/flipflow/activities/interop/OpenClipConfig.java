package io.flipflow.activities.interop;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import io.flipflow.activities.checkpoint.CheckpointState;
import io.flipflow.activities.model.ImageNormalization;
import io.flipflow.activities.model.ModelPreset;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * OpenCLIP's {@code open_clip_config.json} ({@code {"model_cfg": {...}, "preprocess_cfg": {...}}},
 * the fields of open_clip 3.3's {@code CLIPVisionCfg}, {@code CLIPTextCfg} and {@code
 * PreprocessCfg}) to and from a flipflow {@link ModelPreset}. Only what maps exactly is written or
 * read: a preset OpenCLIP cannot express is refused naming the preset field, an OpenCLIP part
 * flipflow does not have (timm or ResNet towers, attentional pooling, layer scale, qk-norm,
 * QuickGELU, an HF text model, ...) naming the config key.
 *
 * <p>Over 350 lines: both directions of one mapping and every refusal stay side by side in one
 * file.
 */
public final class OpenClipConfig {
  private OpenClipConfig() {}

  /** open_clip 3.3's CLIPVisionCfg fields, each with the value flipflow supports (null: any). */
  private static final Set<String> VISION_KEYS =
      Set.of(
          "layers",
          "width",
          "head_width",
          "mlp_ratio",
          "patch_size",
          "image_size",
          "ls_init_value",
          "patch_dropout",
          "attentional_pool",
          "attn_pooler_queries",
          "attn_pooler_heads",
          "no_ln_pre",
          "pos_embed_type",
          "final_ln_after_pool",
          "pool_type",
          "output_tokens",
          "act_kwargs",
          "norm_kwargs",
          "block_type",
          "qk_norm",
          "scaled_cosine_attn",
          "scale_heads",
          "scale_attn_inner",
          "scale_attn",
          "scale_fc",
          "timm_model_name",
          "timm_model_pretrained",
          "timm_pool",
          "timm_proj",
          "timm_proj_bias",
          "timm_drop",
          "timm_drop_path");

  private static final Set<String> TEXT_KEYS =
      Set.of(
          "context_length",
          "vocab_size",
          "hf_tokenizer_name",
          "tokenizer_mode",
          "tokenizer_kwargs",
          "width",
          "heads",
          "layers",
          "mlp_ratio",
          "ls_init_value",
          "embed_cls",
          "pad_id",
          "eos_id",
          "no_causal_mask",
          "final_ln_after_pool",
          "pool_type",
          "proj_bias",
          "proj_type",
          "output_tokens",
          "act_kwargs",
          "norm_kwargs",
          "block_type",
          "qk_norm",
          "scaled_cosine_attn",
          "scale_heads",
          "scale_attn_inner",
          "scale_attn",
          "scale_fc",
          "hf_model_name",
          "hf_model_pretrained",
          "hf_proj_type",
          "hf_pooler_type");

  private static final Set<String> MODEL_KEYS =
      Set.of(
          "embed_dim",
          "vision_cfg",
          "text_cfg",
          "quick_gelu",
          "init_logit_scale",
          "init_logit_bias",
          "nonscalar_logit_scale",
          "cast_dtype",
          "output_dict",
          "custom_text",
          "multimodal_cfg");

  /** Parts flipflow has no counterpart for: they must be off (false, null, empty or absent). */
  private static final List<String> MUST_BE_OFF =
      List.of(
          "ls_init_value",
          "attentional_pool",
          "act_kwargs",
          "norm_kwargs",
          "qk_norm",
          "scaled_cosine_attn",
          "scale_heads",
          "scale_attn_inner",
          "scale_attn",
          "scale_fc");

  /**
   * The {@code open_clip_config.json} of a preset, with {@code preprocess_cfg} from the
   * checkpoint's preprocessing.
   *
   * @param tokenizerName the {@code text_cfg.hf_tokenizer_name}: OpenCLIP then reads the tokenizer
   *     files of the model's folder ({@code local-dir:}) with HF tokenizers
   * @throws IllegalArgumentException naming the preset field that OpenCLIP cannot express
   */
  public static JsonObject toOpenClip(
      ModelPreset preset, CheckpointState.Preprocess preprocess, String tokenizerName) {
    String who = "preset " + preset.name() + ": ";
    if (!preset.hasClassToken()) {
      throw new IllegalArgumentException(
          who
              + "classToken is false, but OpenCLIP's ViT always has a class token that takes part"
              + " in attention; only presets with \"classToken\": true can be exported (the"
              + " shipped presets have it since issue 16; older checkpoints do not)");
    }
    if (preset.positionEmbedding().equals(ModelPreset.POS_SINCOS_LEGACY)) {
      throw new IllegalArgumentException(
          who
              + "positionEmbedding \"sincos-legacy\" (flipflow's first fixed table) is not"
              + " OpenCLIP's sin_cos_2d layout; use \"sin_cos_2d\" or \"learnable\"");
    }
    JsonObject vision = new JsonObject();
    vision.addProperty("image_size", preset.imageSize());
    vision.addProperty("patch_size", preset.patchSize());
    vision.addProperty("width", preset.visionWidth());
    vision.addProperty("layers", preset.visionLayers());
    vision.addProperty("head_width", preset.visionWidth() / preset.visionHeads());
    vision.addProperty("mlp_ratio", preset.mlpRatio());
    vision.addProperty("pos_embed_type", preset.positionEmbedding());
    vision.addProperty("no_ln_pre", !preset.hasLnPre());
    vision.addProperty("pool_type", preset.visionPooling());
    // avg: flipflow averages, then applies ln_post; tok: LayerNorm of one token either way
    vision.addProperty("final_ln_after_pool", preset.visionPooling().equals("avg"));

    JsonObject text = new JsonObject();
    text.addProperty("context_length", preset.contextLength());
    text.addProperty("vocab_size", preset.vocabSize());
    text.addProperty("width", preset.textWidth());
    text.addProperty("heads", preset.textHeads());
    text.addProperty("layers", preset.textLayers());
    text.addProperty("mlp_ratio", preset.mlpRatio());
    text.addProperty("hf_tokenizer_name", tokenizerName);
    text.addProperty("pad_id", 0);
    switch (preset.textPooling()) {
      case "eos" -> {
        text.addProperty("pool_type", "eos");
        text.addProperty("eos_id", preset.eosId());
      }
      case "argmax" -> text.addProperty("pool_type", "argmax");
      default ->
          throw new IllegalArgumentException(
              who
                  + "textPooling \"eot\" (the last non-pad token) has no OpenCLIP pool_type; use"
                  + " \"eos\" with the tokenizer's end-of-text id as eosId");
    }

    JsonObject model = new JsonObject();
    model.addProperty("embed_dim", preset.embedDim());
    model.addProperty("quick_gelu", false);
    model.add("vision_cfg", vision);
    model.add("text_cfg", text);

    JsonObject pre = new JsonObject();
    pre.addProperty("size", preprocess.size());
    pre.addProperty("mode", "RGB");
    pre.add("mean", array(preprocess.mean()));
    pre.add("std", array(preprocess.std()));
    pre.addProperty("interpolation", preprocess.interpolation());
    pre.addProperty("resize_mode", preprocess.resizeMode());
    pre.addProperty("fill_color", 0);

    JsonObject root = new JsonObject();
    root.add("model_cfg", model);
    root.add("preprocess_cfg", pre);
    return root;
  }

  /**
   * The preset an OpenCLIP config describes (a full {@code open_clip_config.json} or a bare {@code
   * model_cfg}, as in open_clip's {@code model_configs/}), named {@code name}.
   *
   * @param source the file, for messages
   * @throws IllegalArgumentException naming the config key flipflow does not support
   */
  public static ModelPreset fromOpenClip(JsonObject config, String name, String source) {
    JsonObject model = config.has("model_cfg") ? config.getAsJsonObject("model_cfg") : config;
    String at = source + ": ";
    known(model, MODEL_KEYS, at, "");
    if (!model.has("vision_cfg") || !model.has("text_cfg")) {
      throw new IllegalArgumentException(at + "model_cfg needs vision_cfg and text_cfg");
    }
    if (isOn(model.get("custom_text"))) {
      throw new IllegalArgumentException(
          at + "custom_text: CustomTextCLIP (text tower under text.*) is not supported");
    }
    if (model.has("multimodal_cfg")) {
      throw new IllegalArgumentException(at + "multimodal_cfg: CoCa models are not supported");
    }
    if (isOn(model.get("quick_gelu"))) {
      throw new IllegalArgumentException(
          at + "quick_gelu: flipflow's blocks use exact GELU, not QuickGELU");
    }
    if (present(model.get("init_logit_bias"))) {
      throw new IllegalArgumentException(
          at + "init_logit_bias: a SigLIP-style logit bias is not supported");
    }
    JsonObject vision = model.getAsJsonObject("vision_cfg");
    JsonObject text = model.getAsJsonObject("text_cfg");
    known(vision, VISION_KEYS, at, "vision_cfg.");
    known(text, TEXT_KEYS, at, "text_cfg.");
    for (String key : MUST_BE_OFF) {
      off(vision, key, at + "vision_cfg.");
      if (!key.equals("attentional_pool")) {
        off(text, key, at + "text_cfg.");
      }
    }
    if (present(vision.get("timm_model_name"))) {
      throw new IllegalArgumentException(
          at + "vision_cfg.timm_model_name: timm image towers are not supported");
    }
    if (present(text.get("hf_model_name"))) {
      throw new IllegalArgumentException(
          at + "text_cfg.hf_model_name: Hugging Face text towers are not supported");
    }
    String blockType = string(vision, "block_type", null);
    if (blockType != null && !blockType.equals("default")) {
      throw new IllegalArgumentException(
          at + "vision_cfg.block_type '" + blockType + "': only the default block is supported");
    }
    blockType = string(text, "block_type", null);
    if (blockType != null && !blockType.equals("default")) {
      throw new IllegalArgumentException(
          at + "text_cfg.block_type '" + blockType + "': only the default block is supported");
    }
    JsonElement layers = vision.get("layers");
    if (layers != null && layers.isJsonArray()) {
      throw new IllegalArgumentException(
          at + "vision_cfg.layers " + layers + ": ModifiedResNet towers are not supported");
    }
    int imageSize = square(vision.get("image_size"), 224, at + "vision_cfg.image_size");
    int patchSize = square(vision.get("patch_size"), 16, at + "vision_cfg.patch_size");
    int width = integer(vision, "width", 768, at);
    int headWidth = integer(vision, "head_width", 64, at);
    if (width % headWidth != 0) {
      throw new IllegalArgumentException(
          at + "vision_cfg.head_width " + headWidth + " does not divide width " + width);
    }
    double mlpRatio = number(vision, "mlp_ratio", 4.0);
    double textMlpRatio = number(text, "mlp_ratio", 4.0);
    if (mlpRatio != textMlpRatio) {
      throw new IllegalArgumentException(
          at
              + "text_cfg.mlp_ratio "
              + textMlpRatio
              + " differs from vision_cfg.mlp_ratio "
              + mlpRatio
              + ": flipflow's presets have one mlpRatio");
    }
    String pos = string(vision, "pos_embed_type", "learnable");
    if (!pos.equals("learnable") && !pos.equals("sin_cos_2d")) {
      throw new IllegalArgumentException(
          at + "vision_cfg.pos_embed_type '" + pos + "' is not learnable or sin_cos_2d");
    }
    String pool = string(vision, "pool_type", "tok");
    boolean lnAfterPool = bool(vision, "final_ln_after_pool", false);
    if (pool.equals("avg") && !lnAfterPool) {
      throw new IllegalArgumentException(
          at
              + "vision_cfg.final_ln_after_pool is false with pool_type avg (LayerNorm, then the"
              + " mean): flipflow averages first (final_ln_after_pool true)");
    }
    if (!pool.equals("avg") && !pool.equals("tok")) {
      throw new IllegalArgumentException(
          at + "vision_cfg.pool_type '" + pool + "': only tok and avg are supported");
    }

    if (bool(text, "embed_cls", false)) {
      throw new IllegalArgumentException(at + "text_cfg.embed_cls: a text class token (CoCa)");
    }
    if (bool(text, "no_causal_mask", false)) {
      throw new IllegalArgumentException(
          at + "text_cfg.no_causal_mask: flipflow's text tower is causal");
    }
    if (bool(text, "proj_bias", false)) {
      throw new IllegalArgumentException(
          at + "text_cfg.proj_bias: flipflow's text projection has no bias");
    }
    String projType = string(text, "proj_type", "linear");
    if (!projType.equals("linear")) {
      throw new IllegalArgumentException(
          at + "text_cfg.proj_type '" + projType + "': only the linear projection is supported");
    }
    int padId = integer(text, "pad_id", 0, at);
    if (padId != 0) {
      throw new IllegalArgumentException(
          at + "text_cfg.pad_id " + padId + ": flipflow pads token rows with id 0");
    }
    if (present(text.get("tokenizer_mode"))) {
      throw new IllegalArgumentException(
          at + "text_cfg.tokenizer_mode: only the plain HF tokenizer path is supported");
    }
    String textPool = string(text, "pool_type", "argmax");
    Integer eosId = null;
    switch (textPool) {
      case "eos" -> eosId = integer(text, "eos_id", 2, at);
      case "argmax" -> {}
      case "first" ->
          throw new IllegalArgumentException(
              at
                  + "text_cfg.pool_type 'first': under the causal mask (flipflow's text tower has"
                  + " no no_causal_mask) the first token sees no other; only eos and argmax are"
                  + " supported");
      default ->
          throw new IllegalArgumentException(
              at + "text_cfg.pool_type '" + textPool + "': only eos and argmax are supported");
    }
    int textWidth = integer(text, "width", 512, at);
    int textHeads = integer(text, "heads", 8, at);
    ModelPreset preset =
        new ModelPreset(
            name,
            imageSize,
            patchSize,
            width,
            integer(vision, "layers", 12, at),
            width / headWidth,
            mlpRatio,
            integer(model, "embed_dim", 512, at),
            integer(text, "vocab_size", 49408, at),
            integer(text, "context_length", 77, at),
            textWidth,
            integer(text, "layers", 12, at),
            textHeads,
            textPool,
            eosId,
            true,
            pos,
            !bool(vision, "no_ln_pre", false),
            pool);
    try {
      return preset.validate();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + e.getMessage(), e);
    }
  }

  /**
   * Refuses preprocessing flipflow's model does not apply: its mean/std, bicubic resize of the
   * shorter side, centre crop, at the model's image size.
   */
  public static void checkPreprocess(JsonObject config, ModelPreset preset, String source) {
    if (!config.has("preprocess_cfg")) {
      return; // OpenCLIP's defaults: OpenAI's mean/std, bicubic, shortest side, the image size
    }
    JsonObject pre = config.getAsJsonObject("preprocess_cfg");
    String at = source + ": preprocess_cfg.";
    if (pre.has("size")) {
      int size = square(pre.get("size"), preset.imageSize(), at + "size");
      if (size != preset.imageSize()) {
        throw new IllegalArgumentException(
            at + "size " + size + " differs from the model's image_size " + preset.imageSize());
      }
    }
    checkChannels(pre, "mean", ImageNormalization.MEAN, at);
    checkChannels(pre, "std", ImageNormalization.STD, at);
    String interpolation = string(pre, "interpolation", "bicubic");
    if (!interpolation.equals("bicubic")) {
      throw new IllegalArgumentException(
          at + "interpolation '" + interpolation + "': flipflow resizes bicubic");
    }
    String mode = string(pre, "resize_mode", "shortest");
    if (!mode.equals("shortest")) {
      throw new IllegalArgumentException(
          at + "resize_mode '" + mode + "': flipflow resizes the shorter side and centre-crops");
    }
  }

  private static void checkChannels(JsonObject pre, String key, float[] ours, String at) {
    if (!pre.has(key)) {
      return;
    }
    JsonArray values = pre.getAsJsonArray(key);
    boolean same = values.size() == ours.length;
    for (int i = 0; same && i < ours.length; i++) {
      same = Math.abs(values.get(i).getAsDouble() - ours[i]) < 1e-6;
    }
    if (!same) {
      throw new IllegalArgumentException(
          at
              + key
              + " "
              + values
              + " differs from flipflow's (OpenAI's) "
              + java.util.Arrays.toString(ours));
    }
  }

  private static JsonArray array(float[] values) {
    JsonArray a = new JsonArray();
    for (float v : values) {
      a.add((double) v);
    }
    return a;
  }

  private static void known(JsonObject o, Set<String> keys, String at, String prefix) {
    for (Map.Entry<String, JsonElement> e : o.entrySet()) {
      if (!keys.contains(e.getKey())) {
        throw new IllegalArgumentException(
            at + prefix + e.getKey() + ": not a key open_clip 3.3 knows, so not supported");
      }
    }
  }

  private static void off(JsonObject o, String key, String at) {
    if (isOn(o.get(key))) {
      throw new IllegalArgumentException(
          at + key + " is " + o.get(key) + ": flipflow's model has no such part");
    }
  }

  private static boolean present(JsonElement e) {
    return e != null
        && !(e instanceof JsonNull)
        && !(e.isJsonPrimitive() && e.getAsString().isEmpty());
  }

  /** Set to something other than false, 0, null, "" or {}. */
  private static boolean isOn(JsonElement e) {
    if (!present(e)) {
      return false;
    }
    if (e.isJsonObject()) {
      return e.getAsJsonObject().size() > 0;
    }
    if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean()) {
      return e.getAsBoolean();
    }
    if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
      return e.getAsDouble() != 0;
    }
    return true;
  }

  private static int integer(JsonObject o, String key, int fallback, String at) {
    JsonElement e = o.get(key);
    if (!present(e)) {
      return fallback;
    }
    double v = e.getAsDouble();
    if (v != Math.rint(v)) {
      throw new IllegalArgumentException(at + key + " " + e + " is not an integer");
    }
    return (int) v;
  }

  private static double number(JsonObject o, String key, double fallback) {
    JsonElement e = o.get(key);
    return present(e) ? e.getAsDouble() : fallback;
  }

  private static boolean bool(JsonObject o, String key, boolean fallback) {
    JsonElement e = o.get(key);
    return present(e) ? e.getAsBoolean() : fallback;
  }

  private static String string(JsonObject o, String key, String fallback) {
    JsonElement e = o.get(key);
    return present(e) ? e.getAsString() : fallback;
  }

  private static int square(JsonElement e, int fallback, String what) {
    if (!present(e)) {
      return fallback;
    }
    if (e.isJsonArray()) {
      JsonArray a = e.getAsJsonArray();
      if (a.size() != 2 || a.get(0).getAsInt() != a.get(1).getAsInt()) {
        throw new IllegalArgumentException(what + " " + e + ": only square sizes are supported");
      }
      return a.get(0).getAsInt();
    }
    return e.getAsInt();
  }
}
