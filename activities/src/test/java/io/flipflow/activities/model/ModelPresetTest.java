package io.flipflow.activities.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelPresetTest {

  /*
   * Expected counts worked out per component (W width, h = 4W, E embed dim):
   * block(W) = 4W (2 LN) + 3W^2+3W (qkv) + W^2+W (out) + W*h+h + h*W+W (MLP).
   * vision = 3 p^2 W (conv, no bias) + W (class token) + depth*block + 2W (final LN) + W*E (proj);
   * fixed sin-cos positions and no ln_pre (the shipped presets): no parameters there.
   * text = V*Wt + ctx*Wt + depth*block + 2Wt + Wt*E; plus 1 logit scale.
   *
   * ViT-B/16: vision 589,824 + 768 + 12*7,087,872 + 1,536 + 393,216 = 86,039,808;
   *   text 25,296,896 + 39,424 + 12*3,152,384 + 1,024 + 262,144 = 63,428,096; total 149,467,905.
   *   (OpenCLIP's ViT-B-16 has 149,620,737 = ours + 151,296 learned positions + 1,536 ln_pre,
   *   which FLIP's MAE-style encoder does not have.) Before the class token (issue 16) every
   *   vision count was W smaller.
   */
  @Test
  void presetsHaveTheHandDerivedParameterCounts() {
    // tiny: 16 more text positions (context 32) x width 128 than at context 16, which had
    // 4,067,073;
    // the class token added 192
    assertEquals(4_069_313L, ModelPreset.load("tiny-emoji").parameterCount());
    ModelPreset b16 = ModelPreset.load("vit-b-16");
    assertEquals(86_039_808L, b16.visionParameterCount());
    assertEquals(63_428_096L, b16.textParameterCount());
    assertEquals(149_467_905L, b16.parameterCount());
    assertEquals(427_535_617L, ModelPreset.load("vit-l-16").parameterCount());
    assertEquals(834_623_233L, ModelPreset.load("vit-h-14").parameterCount());
    // OpenCLIP's own ViT-B-16 shape (learned positions, ln_pre, class-token pooling): its count
    ModelPreset openClipB16 =
        new ModelPreset(
            "oc-b16",
            224,
            16,
            768,
            12,
            12,
            4.0,
            512,
            49408,
            77,
            512,
            12,
            8,
            "argmax",
            null,
            true,
            "learnable",
            true,
            "tok");
    assertEquals(149_620_737L, openClipB16.parameterCount());
    assertEquals(196, b16.numPatches());
    assertEquals(256, ModelPreset.load("vit-h-14").numPatches());
  }

  @Test
  void tinyAndB16ReallyBuildWithTheFormulaCount() {
    for (String name : new String[] {"tiny-emoji", "vit-b-16"}) {
      ModelPreset preset = ModelPreset.load(name);
      try (NDManager root = NDManager.newBaseManager();
          ClipModel model = ClipModel.create(preset, root, 0)) {
        assertEquals(preset.parameterCount(), model.parameterCount(), name);
      }
    }
  }

  @Test
  void aPresetFileWithoutTheOpenClipFieldsIsTheModelFlipflowTrainedBefore(@TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("old.json");
    Files.writeString(
        file,
        "{\"name\": \"old\", \"imageSize\": 64, \"patchSize\": 8, \"visionWidth\": 192,"
            + " \"visionLayers\": 6, \"visionHeads\": 3, \"mlpRatio\": 4.0, \"embedDim\": 128,"
            + " \"vocabSize\": 4096, \"contextLength\": 32, \"textWidth\": 128, \"textLayers\": 4,"
            + " \"textHeads\": 2, \"textPooling\": \"eot\"}");
    ModelPreset old = ModelPreset.load(file.toString());
    assertTrue(!old.hasClassToken() && !old.hasLnPre());
    assertEquals(ModelPreset.POS_SINCOS_LEGACY, old.positionEmbedding());
    assertEquals("avg", old.visionPooling());
    assertEquals(null, old.eosId());
    assertEquals(4_069_121L, old.parameterCount());
  }

  @Test
  void badPresetsAreRejectedNamingTheField(@TempDir Path dir) throws Exception {
    var unknown = assertThrows(IllegalArgumentException.class, () -> ModelPreset.load("vit-z-99"));
    assertTrue(
        unknown.getMessage().contains("unknown model preset 'vit-z-99'"), unknown.getMessage());

    Path file = dir.resolve("odd.json");
    Files.writeString(
        file,
        Files.readString(Path.of("../config/models/tiny-emoji.json"))
            .replace("\"imageSize\": 64", "\"imageSize\": 60"));
    var notDivisible =
        assertThrows(IllegalArgumentException.class, () -> ModelPreset.load(file.toString()));
    assertTrue(
        notDivisible.getMessage().contains("imageSize 60 is not divisible by patchSize 8"),
        notDivisible.getMessage());

    Files.writeString(
        file,
        Files.readString(Path.of("../config/models/tiny-emoji.json")).replace("\"eosId\": 3,", ""));
    var noEos =
        assertThrows(IllegalArgumentException.class, () -> ModelPreset.load(file.toString()));
    assertTrue(noEos.getMessage().contains("textPooling \"eos\" needs eosId"), noEos.getMessage());

    Files.writeString(
        file,
        Files.readString(Path.of("../config/models/tiny-emoji.json"))
            .replace("\"classToken\": true", "\"classToken\": false")
            .replace("\"visionPooling\": \"avg\"", "\"visionPooling\": \"tok\""));
    var tok = assertThrows(IllegalArgumentException.class, () -> ModelPreset.load(file.toString()));
    assertTrue(tok.getMessage().contains("it needs classToken true"), tok.getMessage());

    Files.writeString(
        file,
        Files.readString(Path.of("../config/models/tiny-emoji.json"))
            .replace("\"sin_cos_2d\"", "\"rope\""));
    var rope =
        assertThrows(IllegalArgumentException.class, () -> ModelPreset.load(file.toString()));
    assertTrue(rope.getMessage().contains("positionEmbedding must be one of"), rope.getMessage());

    Files.writeString(
        file,
        Files.readString(Path.of("../config/models/tiny-emoji.json"))
            .replace("\"textPooling\": \"eos\"", "\"textPooling\": \"first\"")
            .replace("\"eosId\": 3,", ""));
    var first =
        assertThrows(IllegalArgumentException.class, () -> ModelPreset.load(file.toString()));
    assertTrue(first.getMessage().contains("under the text tower's causal"), first.getMessage());

    Files.writeString(file, "{\"name\": \"x\", \"imageSize\": 64, \"patchSize\": 8}");
    var missing =
        assertThrows(IllegalArgumentException.class, () -> ModelPreset.load(file.toString()));
    assertTrue(missing.getMessage().contains("visionWidth must be positive"), missing.getMessage());
  }
}
