package io.flipflow.infra.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.checkpoint.CheckpointState;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.device.Devices;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.ModelPreset;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code flipflow export} and {@code flipflow import} as the README shows them, on local folders: a
 * checkpoint goes out as an OpenCLIP folder and comes back as a checkpoint of the same weights.
 */
class ExportImportCommandTest {

  @Test
  void aCheckpointGoesOutToOpenClipAndComesBack(@TempDir Path dir) throws Exception {
    ModelPreset preset = ModelPreset.load("tiny-emoji");
    Path ckpt = dir.resolve("step-000000003");
    float[] weights;
    try (ClipModel model = ClipModel.createOn(preset, Devices.cpu(), 4)) {
      weights = model.weightValues("text_projection.weight");
      CheckpointDir.writeInto(
          ckpt,
          new CheckpointState(
              CheckpointState.FORMAT,
              preset.name(),
              preset,
              null,
              3,
              48,
              48,
              4,
              CheckpointState.RNG_SCHEME,
              3,
              2f,
              new CheckpointState.Origin("demo-run", "pretrain", "f", 1)),
          model,
          null,
          WordLevelVocabulary.build(List.of("an emoji of a cat")));
    }
    Path out = dir.resolve("open_clip");
    String printed =
        run(
            "export",
            "--checkpoint",
            ckpt.toString(),
            "--format",
            "open_clip",
            "--out",
            out.toString());
    assertTrue(printed.contains("exported flipflow-tiny-emoji-demo-run-pretrain-step3"), printed);
    for (String f :
        List.of(
            "open_clip_config.json",
            "open_clip_model.safetensors",
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json")) {
      assertTrue(Files.isRegularFile(out.resolve(f)), f);
    }

    Path back = dir.resolve("imported");
    printed =
        run(
            "import",
            "--from",
            "open_clip",
            out.toString(),
            "--to",
            back.toString(),
            "--preset-dir",
            dir.resolve("presets").toString());
    // the shape is the shipped preset's: no preset file is written, a spec names tiny-emoji
    assertTrue(printed.contains("as preset tiny-emoji"), printed);
    assertTrue(printed.contains("\"initFrom\""), printed);
    assertTrue(!Files.exists(dir.resolve("presets")), "no preset file for a shipped shape");
    try (ClipModel model = CheckpointDir.loadModel(back, Devices.cpu())) {
      assertEquals(preset, model.preset());
      assertTrue(java.util.Arrays.equals(weights, model.weightValues("text_projection.weight")));
    }
    assertEquals(
        "open_clip:" + out.toAbsolutePath().normalize(),
        CheckpointDir.readState(back).importedFrom());

    // bad input: one line naming the problem, exit code 2
    StringWriter err = new StringWriter();
    int code =
        new CommandLine(new FlipflowCommand())
            .setErr(new PrintWriter(err))
            .setExecutionExceptionHandler(
                (ex, cmd, parsed) -> {
                  cmd.getErr().println("flipflow: " + ex.getMessage());
                  return 2;
                })
            .execute(
                "export", "--checkpoint", dir.resolve("nope").toString(), "--out", out.toString());
    assertEquals(2, code);
    assertTrue(err.toString().contains("state.json does not exist"), err.toString());
  }

  private static String run(String... args) {
    PrintStream saved = System.out;
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    try {
      int code = new CommandLine(new FlipflowCommand()).execute(args);
      assertEquals(0, code, bytes.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(saved);
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
