package io.flipflow.infra.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flipflow.activities.model.ModelPreset;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Smoke run of {@code flipflow bench openclip} on a micro preset (a few steps each side): keeps the
 * comparison working; its figures are not asserted. It needs the OpenCLIP venv that
 * bench/openclip/setup.sh makes (CI runs it first); the flag mapping is checked without it.
 */
class OpenClipComparisonTest {

  private static final String MICRO =
      "{\"name\":\"test-micro\",\"imageSize\":32,\"patchSize\":8,\"visionWidth\":64,"
          + "\"visionLayers\":2,\"visionHeads\":2,\"mlpRatio\":2.0,\"embedDim\":32,"
          + "\"vocabSize\":64,\"contextLength\":8,\"textWidth\":32,\"textLayers\":1,"
          + "\"textHeads\":2,\"textPooling\":\"eot\"}";

  private static Path projectDir() {
    Path here = Path.of("").toAbsolutePath();
    return Files.exists(here.resolve("../workflows/pom.xml")) ? here.getParent() : here;
  }

  @Test
  void openClipGetsThePresetsShapes(@TempDir Path dir) throws Exception {
    Path preset = dir.resolve("micro.json");
    Files.writeString(preset, MICRO);
    List<String> cmd =
        OpenClipComparison.openClipCommand(
            Path.of("/p"),
            Path.of("/p/python"),
            ModelPreset.load(preset.toString()),
            0.75,
            8,
            5,
            2,
            2);
    String joined = String.join(" ", cmd);
    for (String flag :
        List.of(
            "--mask-ratio 0.75",
            "--batch 8",
            "--steps 5",
            "--warmup 2",
            "--image-size 32",
            "--patch 8",
            "--vision-width 64",
            "--vision-layers 2",
            "--vision-heads 2",
            "--mlp-ratio 2.0",
            "--context-length 8",
            "--vocab-size 64",
            "--text-width 32",
            "--text-layers 1",
            "--text-heads 2",
            "--embed-dim 32")) {
      assertTrue(joined.contains(flag), flag + " missing from " + joined);
    }
  }

  @Test
  void comparesBothSidesAtEveryMaskRatio(@TempDir Path dir) throws Exception {
    Path home = projectDir();
    assumeTrue(
        Files.isExecutable(OpenClipComparison.python(home)),
        "skipped: no OpenCLIP venv at "
            + OpenClipComparison.python(home)
            + " (run bench/openclip/setup.sh; .ci/run does)");
    Path preset = dir.resolve("micro.json");
    Files.writeString(preset, MICRO);
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    OpenClipComparison.Report report =
        OpenClipComparison.run(
            home,
            preset.toString(),
            8,
            1,
            3,
            1,
            new PrintStream(text, true, StandardCharsets.UTF_8));
    String printed = text.toString(StandardCharsets.UTF_8);
    assertEquals(3, report.rows().size(), printed);
    int[] ours = {16, 8, 4};
    for (int i = 0; i < 3; i++) {
      OpenClipComparison.Row row = report.rows().get(i);
      assertEquals(ours[i], row.flipflowTokens(), printed);
      // OpenCLIP's ViT keeps its class token through patch dropout: one token more
      assertEquals(ours[i] + 1, row.openClipTokens(), printed);
      for (OpenClipComparison.Side side : List.of(row.flipflow(), row.openClip())) {
        assertTrue(side.samplesPerSecond() > 0, printed);
        assertTrue(
            side.forwardMillis() > 0 && side.backwardMillis() > 0 && side.optimizerMillis() > 0,
            side + "\n" + printed);
      }
      assertTrue(row.ratio() > 0, printed);
    }
    assertTrue(printed.contains("flipflow/OpenCLIP"), printed);
    assertTrue(report.torch().startsWith("2.7.1"), report.torch());
    assertEquals(27, OpenClipComparison.metrics(report).size());
  }
}
