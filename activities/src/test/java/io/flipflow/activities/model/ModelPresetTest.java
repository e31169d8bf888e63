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
   * vision = 3 p^2 W (conv, no bias) + depth*block + 2W (final LN) + W*E (proj); sin-cos positions
   * and no class token: no parameters there.
   * text = V*Wt + ctx*Wt + depth*block + 2Wt + Wt*E; plus 1 logit scale.
   *
   * ViT-B/16: vision 589,824 + 12*7,087,872 + 1,536 + 393,216 = 86,039,040;
   *   text 25,296,896 + 39,424 + 12*3,152,384 + 1,024 + 262,144 = 63,428,096; total 149,467,137.
   *   (OpenCLIP's ViT-B-16 has 149,620,737 = ours + 151,296 learned positions + 768 class token
   *   + 1,536 ln_pre, which FLIP's MAE-style encoder does not have.)
   */
  @Test
  void presetsHaveTheHandDerivedParameterCounts() {
    // tiny: 16 more text positions (context 32) x width 128 than at context 16, which had 4,067,073
    assertEquals(4_069_121L, ModelPreset.load("tiny-emoji").parameterCount());
    ModelPreset b16 = ModelPreset.load("vit-b-16");
    assertEquals(86_039_040L, b16.visionParameterCount());
    assertEquals(63_428_096L, b16.textParameterCount());
    assertEquals(149_467_137L, b16.parameterCount());
    assertEquals(427_534_593L, ModelPreset.load("vit-l-16").parameterCount());
    assertEquals(834_621_953L, ModelPreset.load("vit-h-14").parameterCount());
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

    Files.writeString(file, "{\"name\": \"x\", \"imageSize\": 64, \"patchSize\": 8}");
    var missing =
        assertThrows(IllegalArgumentException.class, () -> ModelPreset.load(file.toString()));
    assertTrue(missing.getMessage().contains("visionWidth must be positive"), missing.getMessage());
  }
}
