package io.flipflow.activities.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The tensorboard package that bench/tensorboard/setup.sh installs in bench/tensorboard/.venv, run
 * as a subprocess; a test that needs it is skipped, saying why, where the venv is missing.
 */
public final class TensorBoardVenv {
  private TensorBoardVenv() {}

  public static Path projectDir() {
    Path here = Path.of("").toAbsolutePath();
    return Files.exists(here.resolve("../workflows/pom.xml")) ? here.getParent() : here;
  }

  public static Path python() {
    return projectDir().resolve("bench/tensorboard/.venv/bin/python");
  }

  /**
   * Skips the calling test where the venv is missing, printing why; fails it instead where {@code
   * FLIPFLOW_TENSORBOARD_REQUIRED=1} (CI, which makes the venv, must not skip silently).
   */
  public static void assumeInstalled() {
    if (Files.isExecutable(python())) {
      return;
    }
    String why =
        "no tensorboard venv at " + python() + " (run bench/tensorboard/setup.sh; .ci/run does)";
    if ("1".equals(System.getenv("FLIPFLOW_TENSORBOARD_REQUIRED"))) {
      fail(why + ", and FLIPFLOW_TENSORBOARD_REQUIRED=1");
    }
    System.err.println("skipped: " + why);
    assumeTrue(false, "skipped: " + why);
  }

  /** Runs bench/tensorboard/SCRIPT with ARGS; its stdout as a JSON object (NaN allowed). */
  public static JsonObject run(String script, String... args)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(python().toString());
    cmd.add(projectDir().resolve("bench/tensorboard").resolve(script).toString());
    cmd.addAll(List.of(args));
    Path err = Files.createTempFile("tensorboard-venv", ".stderr");
    try {
      Process p =
          new ProcessBuilder(cmd)
              .redirectError(err.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
              .start();
      byte[] out = p.getInputStream().readAllBytes();
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out: " + cmd);
      String stderr = Files.readString(err);
      assertEquals(0, p.exitValue(), () -> String.join(" ", cmd) + " failed:\n" + stderr);
      // JsonParser is lenient: it takes the NaN and Infinity that Python's json writes
      return JsonParser.parseString(new String(out, StandardCharsets.UTF_8)).getAsJsonObject();
    } finally {
      Files.deleteIfExists(err);
    }
  }
}
