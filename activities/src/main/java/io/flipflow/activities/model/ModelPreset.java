package io.flipflow.activities.model;

import com.google.gson.Gson;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The shape of a CLIP/FLIP model: a ViT image tower and a transformer text tower meeting in a
 * shared embedding. Presets are data ({@code config/models/NAME.json}, on the classpath as {@code
 * flipflow/models/NAME.json}), not code.
 *
 * <p>The last five fields came with OpenCLIP interchange (issue 16). Left out, as in preset files
 * and checkpoints written before them, they mean the model flipflow trained until then (no class
 * token, its own fixed sin-cos table, no LayerNorm before the blocks, average pooling): old
 * checkpoints keep loading as what they are. The compact constructor writes those defaults in, so
 * every preset in memory names all of its choices.
 *
 * @param textPooling where the text tower pools: {@code "eos"} (the first {@code eosId} token,
 *     OpenCLIP's {@code pool_type: eos}), {@code "argmax"} (the highest token id: OpenAI's BPE puts
 *     end-of-text last), or {@code "eot"} (the last non-pad token: what flipflow did before, wrong
 *     for a tokenizer whose id 0 is a real token, e.g. CLIP BPE's "!")
 * @param eosId the end-of-text token id {@code "eos"} pools at (3 for flipflow's word-level
 *     tokenizers); only with {@code "eos"}
 * @param classToken a learned class token, prepended after masking (never masked), taking part in
 *     attention, left out of average pooling (OpenCLIP's ViT always has one; FLIP's code too)
 * @param positionEmbedding {@code "sin_cos_2d"} (fixed, OpenCLIP's and MAE's table, a zero row for
 *     the class token), {@code "learnable"} (OpenCLIP's default), or {@code "sincos-legacy"}
 *     (flipflow's first fixed table, row and column halves swapped against MAE's; old checkpoints)
 * @param lnPre a LayerNorm on the tokens before the first block (OpenCLIP's {@code ln_pre}; FLIP's
 *     and CLIPA's ViTs leave it out, OpenCLIP's {@code no_ln_pre})
 * @param visionPooling {@code "avg"} (mean of the patch tokens, then {@code ln_post}: OpenCLIP's
 *     {@code pool_type: avg} with {@code final_ln_after_pool}) or {@code "tok"} (the class token)
 */
public record ModelPreset(
    String name,
    int imageSize,
    int patchSize,
    int visionWidth,
    int visionLayers,
    int visionHeads,
    double mlpRatio,
    int embedDim,
    int vocabSize,
    int contextLength,
    int textWidth,
    int textLayers,
    int textHeads,
    String textPooling,
    Integer eosId,
    Boolean classToken,
    String positionEmbedding,
    Boolean lnPre,
    String visionPooling) {

  public static final String POS_SIN_COS_2D = "sin_cos_2d";
  public static final String POS_LEARNABLE = "learnable";
  public static final String POS_SINCOS_LEGACY = "sincos-legacy";
  public static final List<String> POSITION_EMBEDDINGS =
      List.of(POS_SIN_COS_2D, POS_LEARNABLE, POS_SINCOS_LEGACY);
  public static final List<String> TEXT_POOLINGS = List.of("eos", "argmax", "eot");
  public static final List<String> VISION_POOLINGS = List.of("avg", "tok");

  public ModelPreset {
    classToken = classToken != null && classToken;
    lnPre = lnPre != null && lnPre;
    positionEmbedding = positionEmbedding == null ? POS_SINCOS_LEGACY : positionEmbedding;
    visionPooling = visionPooling == null ? "avg" : visionPooling;
  }

  /** A preset of the shape flipflow had before the OpenCLIP fields (legacy defaults for them). */
  public ModelPreset(
      String name,
      int imageSize,
      int patchSize,
      int visionWidth,
      int visionLayers,
      int visionHeads,
      double mlpRatio,
      int embedDim,
      int vocabSize,
      int contextLength,
      int textWidth,
      int textLayers,
      int textHeads,
      String textPooling) {
    this(
        name,
        imageSize,
        patchSize,
        visionWidth,
        visionLayers,
        visionHeads,
        mlpRatio,
        embedDim,
        vocabSize,
        contextLength,
        textWidth,
        textLayers,
        textHeads,
        textPooling,
        null,
        null,
        null,
        null,
        null);
  }

  /** This preset under another name (the OpenCLIP importer names what it reads). */
  public ModelPreset withName(String newName) {
    return new ModelPreset(
        newName,
        imageSize,
        patchSize,
        visionWidth,
        visionLayers,
        visionHeads,
        mlpRatio,
        embedDim,
        vocabSize,
        contextLength,
        textWidth,
        textLayers,
        textHeads,
        textPooling,
        eosId,
        classToken,
        positionEmbedding,
        lnPre,
        visionPooling);
  }

  /** Whether the image tower has a class token. */
  public boolean hasClassToken() {
    return classToken;
  }

  /** Whether the image tower normalises its tokens before the first block. */
  public boolean hasLnPre() {
    return lnPre;
  }

  /** Presets shipped in config/models, named in error messages. */
  public static final List<String> BUILT_IN =
      List.of("tiny-emoji", "vit-b-16", "vit-l-16", "vit-h-14");

  private static final String RESOURCE_DIR = "flipflow/models/";

  /** Loads a built-in preset by name, or a preset file when {@code nameOrPath} ends in .json. */
  public static ModelPreset load(String nameOrPath) {
    if (nameOrPath == null || nameOrPath.isBlank()) {
      throw new IllegalArgumentException("preset: must name a model preset, one of " + BUILT_IN);
    }
    if (nameOrPath.endsWith(".json")) {
      Path file = Path.of(nameOrPath);
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException("preset: file " + file + " does not exist");
      }
      try (Reader reader = Files.newBufferedReader(file)) {
        return parse(reader, file.toString());
      } catch (IOException e) {
        throw new UncheckedIOException("preset: cannot read " + file, e);
      }
    }
    InputStream in =
        ModelPreset.class.getClassLoader().getResourceAsStream(RESOURCE_DIR + nameOrPath + ".json");
    if (in == null) {
      throw new IllegalArgumentException(
          "preset: unknown model preset '" + nameOrPath + "', known: " + BUILT_IN);
    }
    try (Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8)) {
      return parse(reader, RESOURCE_DIR + nameOrPath + ".json");
    } catch (IOException e) {
      throw new UncheckedIOException("preset: cannot read " + nameOrPath, e);
    }
  }

  private static ModelPreset parse(Reader reader, String source) {
    ModelPreset preset;
    try {
      preset = new Gson().fromJson(reader, ModelPreset.class);
    } catch (JsonParseException e) {
      throw new IllegalArgumentException("preset: " + source + " is not valid JSON: " + e, e);
    }
    if (preset == null) {
      throw new IllegalArgumentException("preset: " + source + " is empty");
    }
    return preset.validate();
  }

  /** Checks every field; the message names the first bad one. Returns this for chaining. */
  public ModelPreset validate() {
    String who = "preset '" + name + "': ";
    positive(who, "imageSize", imageSize);
    positive(who, "patchSize", patchSize);
    positive(who, "visionWidth", visionWidth);
    positive(who, "visionLayers", visionLayers);
    positive(who, "visionHeads", visionHeads);
    positive(who, "embedDim", embedDim);
    positive(who, "vocabSize", vocabSize);
    positive(who, "contextLength", contextLength);
    positive(who, "textWidth", textWidth);
    positive(who, "textLayers", textLayers);
    positive(who, "textHeads", textHeads);
    if (!(mlpRatio > 0)) {
      throw new IllegalArgumentException(who + "mlpRatio must be positive, got " + mlpRatio);
    }
    if (imageSize % patchSize != 0) {
      throw new IllegalArgumentException(
          who + "imageSize " + imageSize + " is not divisible by patchSize " + patchSize);
    }
    if (visionWidth % visionHeads != 0) {
      throw new IllegalArgumentException(
          who + "visionWidth " + visionWidth + " is not divisible by visionHeads " + visionHeads);
    }
    if (!POSITION_EMBEDDINGS.contains(positionEmbedding)) {
      throw new IllegalArgumentException(
          who
              + "positionEmbedding must be one of "
              + POSITION_EMBEDDINGS
              + ", got "
              + positionEmbedding);
    }
    if (!positionEmbedding.equals(POS_LEARNABLE) && visionWidth % 4 != 0) {
      // the 2-D sin-cos position embedding gives a quarter of the channels to each of sin/cos x/y
      throw new IllegalArgumentException(
          who + "visionWidth " + visionWidth + " must be divisible by 4 (2-D sin-cos embedding)");
    }
    if (!VISION_POOLINGS.contains(visionPooling)) {
      throw new IllegalArgumentException(
          who + "visionPooling must be one of " + VISION_POOLINGS + ", got " + visionPooling);
    }
    if (visionPooling.equals("tok") && !classToken) {
      throw new IllegalArgumentException(
          who + "visionPooling \"tok\" pools at the class token: it needs classToken true");
    }
    if (textWidth % textHeads != 0) {
      throw new IllegalArgumentException(
          who + "textWidth " + textWidth + " is not divisible by textHeads " + textHeads);
    }
    if ("first".equals(textPooling)) {
      throw new IllegalArgumentException(
          who
              + "textPooling \"first\" pools the first token, which under the text tower's causal"
              + " mask sees no other token; use \"eos\"");
    }
    if (!TEXT_POOLINGS.contains(textPooling)) {
      throw new IllegalArgumentException(
          who + "textPooling must be one of " + TEXT_POOLINGS + ", got " + textPooling);
    }
    if ("eos".equals(textPooling)) {
      if (eosId == null || eosId < 0 || eosId >= vocabSize) {
        throw new IllegalArgumentException(
            who
                + "textPooling \"eos\" needs eosId, the tokenizer's end-of-text id in [0, vocabSize="
                + vocabSize
                + "), got "
                + eosId);
      }
    } else if (eosId != null) {
      throw new IllegalArgumentException(
          who + "eosId is only used by textPooling \"eos\", not \"" + textPooling + "\"");
    }
    return this;
  }

  private static void positive(String who, String field, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(who + field + " must be positive, got " + value);
    }
  }

  /** Patches per side. */
  public int gridSize() {
    return imageSize / patchSize;
  }

  /** L, the number of image tokens before masking. */
  public int numPatches() {
    return gridSize() * gridSize();
  }

  public int visionMlpWidth() {
    return (int) Math.round(mlpRatio * visionWidth);
  }

  public int textMlpWidth() {
    return (int) Math.round(mlpRatio * textWidth);
  }

  /** Tokens the image encoder sees unmasked: the patches, and the class token if any. */
  public int visionTokens() {
    return numPatches() + (classToken ? 1 : 0);
  }

  /** Parameters of the image tower, from the shapes alone (nothing is allocated). */
  public long visionParameterCount() {
    long w = visionWidth;
    long patchEmbed = 3L * patchSize * patchSize * w; // Conv2d, no bias (as CLIP)
    long blocks = visionLayers * blockParameterCount(w, visionMlpWidth());
    long finalNorm = 2 * w;
    long projection = w * embedDim; // no bias
    long classEmbedding = classToken ? w : 0;
    // a fixed sin-cos table has no parameters; a learned one has a row per token
    long positions = positionEmbedding.equals(POS_LEARNABLE) ? visionTokens() * w : 0;
    long preNorm = lnPre ? 2 * w : 0;
    return patchEmbed + classEmbedding + positions + preNorm + blocks + finalNorm + projection;
  }

  /** Parameters of the text tower, from the shapes alone. */
  public long textParameterCount() {
    long w = textWidth;
    long tokenEmbedding = (long) vocabSize * w;
    long positionEmbedding = (long) contextLength * w;
    long blocks = textLayers * blockParameterCount(w, textMlpWidth());
    long finalNorm = 2 * w;
    long projection = w * embedDim;
    return tokenEmbedding + positionEmbedding + blocks + finalNorm + projection;
  }

  /** Both towers plus the logit scale. */
  public long parameterCount() {
    return visionParameterCount() + textParameterCount() + 1;
  }

  /** One pre-LN block: two LayerNorms, fused qkv + output projection, a two-layer MLP. */
  static long blockParameterCount(long width, long mlpWidth) {
    long norms = 2 * 2 * width;
    long attention = (width * 3 * width + 3 * width) + (width * width + width);
    long mlp = (width * mlpWidth + mlpWidth) + (mlpWidth * width + width);
    return norms + attention + mlp;
  }
}
