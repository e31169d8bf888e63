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
 * @param textPooling {@code "eot"} (CLIP: the last non-pad token) or {@code "first"}
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
    String textPooling) {

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
    if (visionWidth % 4 != 0) {
      // the 2-D sin-cos position embedding gives a quarter of the channels to each of sin/cos x/y
      throw new IllegalArgumentException(
          who + "visionWidth " + visionWidth + " must be divisible by 4 (2-D sin-cos embedding)");
    }
    if (textWidth % textHeads != 0) {
      throw new IllegalArgumentException(
          who + "textWidth " + textWidth + " is not divisible by textHeads " + textHeads);
    }
    if (!"eot".equals(textPooling) && !"first".equals(textPooling)) {
      throw new IllegalArgumentException(
          who + "textPooling must be \"eot\" or \"first\", got " + textPooling);
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

  /** Parameters of the image tower, from the shapes alone (nothing is allocated). */
  public long visionParameterCount() {
    long w = visionWidth;
    long patchEmbed = 3L * patchSize * patchSize * w; // Conv2d, no bias (as CLIP)
    long blocks = visionLayers * blockParameterCount(w, visionMlpWidth());
    long finalNorm = 2 * w;
    long projection = w * embedDim; // no bias
    // position embedding: fixed sin-cos, no parameters; no class token (global average pooling)
    return patchEmbed + blocks + finalNorm + projection;
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
