package io.flipflow.infra.bench;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.model.PatchMasking;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * flipflow's training throughput against OpenCLIP's (bench/openclip/train_bench.py) on the same
 * model shape, batch, threads and mask ratio, the two run alternately in rounds. Both sides run
 * {@code steps} steps per round, leave the first {@code warmup} out and take the median, and both
 * report where a step's time goes (forward with the loss, backward, optimizer), so a ratio below
 * 1.0 comes with the phase that explains it.
 */
public final class OpenClipComparison {

  /** Medians over the rounds for one mask ratio; times in milliseconds. */
  public record Side(
      double samplesPerSecond,
      double stepMillis,
      double forwardMillis,
      double backwardMillis,
      double optimizerMillis) {}

  /** One mask ratio: both sides, flipflow's samples/s over OpenCLIP's, tokens each ViT saw. */
  public record Row(
      double maskRatio, Side flipflow, Side openClip, int flipflowTokens, int openClipTokens) {
    public double ratio() {
      return flipflow.samplesPerSecond() / openClip.samplesPerSecond();
    }
  }

  public record Report(String preset, int batch, int threads, String torch, List<Row> rows) {}

  private static final double[] MASK_RATIOS = {0, 0.5, 0.75};

  private OpenClipComparison() {}

  /** The venv's interpreter that bench/openclip/setup.sh creates. */
  public static Path python(Path home) {
    return home.resolve("bench/openclip/.venv/bin/python");
  }

  public static Report run(
      Path home, String presetName, int batch, int rounds, int steps, int warmup, PrintStream out) {
    if (rounds < 1 || warmup < 1 || steps <= warmup) {
      throw new IllegalArgumentException(
          "need rounds >= 1, warmup >= 1 and steps > warmup; got rounds "
              + rounds
              + ", steps "
              + steps
              + ", warmup "
              + warmup);
    }
    Path python = python(home);
    if (!Files.isExecutable(python)) {
      throw new IllegalStateException(
          "OpenCLIP is not installed: run bench/openclip/setup.sh first (creates " + python + ")");
    }
    ModelPreset preset = ModelPreset.load(presetName);
    int threads = Integer.getInteger("ai.djl.pytorch.num_threads", 2);
    Map<Double, List<Side>> ours = new LinkedHashMap<>();
    Map<Double, List<Side>> theirs = new LinkedHashMap<>();
    Map<Double, Integer> theirTokens = new LinkedHashMap<>();
    String torch = "?";
    for (int round = 0; round < rounds; round++) {
      for (double r : MASK_RATIOS) {
        MaskingBenchmark.Result mine =
            MaskingBenchmark.run(presetName, batch, warmup, steps - warmup, new double[] {r}, out)
                .results()
                .get(0);
        ours.computeIfAbsent(r, k -> new ArrayList<>())
            .add(
                new Side(
                    mine.samplesPerSecond(),
                    mine.medianStepMillis(),
                    mine.medianForwardMillis(),
                    mine.medianBackwardMillis(),
                    mine.medianOptimizerMillis()));
        JsonObject json = runOpenClip(home, python, preset, r, batch, steps, warmup, threads);
        theirs
            .computeIfAbsent(r, k -> new ArrayList<>())
            .add(
                new Side(
                    json.get("samples_per_s").getAsDouble(),
                    1000 * json.get("median_step_s").getAsDouble(),
                    1000 * json.get("median_forward_s").getAsDouble(),
                    1000 * json.get("median_backward_s").getAsDouble(),
                    1000 * json.get("median_optimizer_s").getAsDouble()));
        theirTokens.put(r, json.get("vision_tokens").getAsInt());
        torch = json.get("torch").getAsString();
      }
    }
    List<Row> rows = new ArrayList<>();
    for (double r : MASK_RATIOS) {
      rows.add(
          new Row(
              r,
              median(ours.get(r)),
              median(theirs.get(r)),
              PatchMasking.keptTokens(preset.numPatches(), r),
              theirTokens.get(r)));
    }
    Report report = new Report(preset.name(), batch, threads, torch, rows);
    print(report, rounds, out);
    return report;
  }

  private static void print(Report report, int rounds, PrintStream out) {
    out.printf(
        Locale.ROOT,
        "%nflipflow vs OpenCLIP (torch %s): preset %s, batch %d, %d threads, medians of %d"
            + " rounds%n",
        report.torch(),
        report.preset(),
        report.batch(),
        report.threads(),
        rounds);
    out.println(
        "mask  tokens(ff/oc)  flipflow samples/s  OpenCLIP samples/s  flipflow/OpenCLIP"
            + "   step ms (forward + backward + optimizer), flipflow | OpenCLIP");
    for (Row row : report.rows()) {
      out.printf(
          Locale.ROOT,
          "%.2f  %6d/%-6d  %18.1f  %18.1f  %17.2f   %s | %s%n",
          row.maskRatio(),
          row.flipflowTokens(),
          row.openClipTokens(),
          row.flipflow().samplesPerSecond(),
          row.openClip().samplesPerSecond(),
          row.ratio(),
          phases(row.flipflow()),
          phases(row.openClip()));
    }
  }

  private static String phases(Side s) {
    return String.format(
        Locale.ROOT,
        "%.0f (%.0f + %.0f + %.0f)",
        s.stepMillis(),
        s.forwardMillis(),
        s.backwardMillis(),
        s.optimizerMillis());
  }

  /** The figures to record in Postgres's benchmarks table. */
  public static Map<String, Double> metrics(Report report) {
    Map<String, Double> m = new LinkedHashMap<>();
    for (Row row : report.rows()) {
      String k = String.format(Locale.ROOT, "mask%.2f", row.maskRatio());
      m.put(k + "_flipflow_samples_per_s", row.flipflow().samplesPerSecond());
      m.put(k + "_openclip_samples_per_s", row.openClip().samplesPerSecond());
      m.put(k + "_ratio", row.ratio());
      putPhases(m, k + "_flipflow", row.flipflow());
      putPhases(m, k + "_openclip", row.openClip());
    }
    return m;
  }

  private static void putPhases(Map<String, Double> m, String prefix, Side s) {
    m.put(prefix + "_forward_ms", s.forwardMillis());
    m.put(prefix + "_backward_ms", s.backwardMillis());
    m.put(prefix + "_optimizer_ms", s.optimizerMillis());
  }

  /** train_bench.py's flags for {@code preset}: the same shapes on both sides. */
  static List<String> openClipCommand(
      Path home,
      Path python,
      ModelPreset preset,
      double maskRatio,
      int batch,
      int steps,
      int warmup,
      int threads) {
    // train_bench.py pools at end-of-text (its highest id): what eot, eos and argmax cost alike
    if (!List.of("eot", "eos", "argmax").contains(preset.textPooling())) {
      throw new IllegalArgumentException(
          "preset "
              + preset.name()
              + ": textPooling "
              + preset.textPooling()
              + " has no OpenCLIP counterpart in train_bench.py (it pools at end-of-text)");
    }
    List<String> cmd = new ArrayList<>();
    cmd.add(python.toString());
    cmd.add(home.resolve("bench/openclip/train_bench.py").toString());
    cmd.add("--synthetic");
    add(cmd, "--mask-ratio", maskRatio);
    add(cmd, "--batch", batch);
    add(cmd, "--steps", steps);
    add(cmd, "--warmup", warmup);
    add(cmd, "--threads", threads);
    add(cmd, "--image-size", preset.imageSize());
    add(cmd, "--patch", preset.patchSize());
    add(cmd, "--vision-width", preset.visionWidth());
    add(cmd, "--vision-layers", preset.visionLayers());
    add(cmd, "--vision-heads", preset.visionHeads());
    add(cmd, "--mlp-ratio", preset.mlpRatio());
    add(cmd, "--context-length", preset.contextLength());
    add(cmd, "--vocab-size", preset.vocabSize());
    add(cmd, "--text-width", preset.textWidth());
    add(cmd, "--text-layers", preset.textLayers());
    add(cmd, "--text-heads", preset.textHeads());
    add(cmd, "--embed-dim", preset.embedDim());
    return cmd;
  }

  private static void add(List<String> cmd, String flag, Object value) {
    cmd.add(flag);
    cmd.add(String.valueOf(value));
  }

  private static JsonObject runOpenClip(
      Path home,
      Path python,
      ModelPreset preset,
      double maskRatio,
      int batch,
      int steps,
      int warmup,
      int threads) {
    List<String> cmd =
        openClipCommand(home, python, preset, maskRatio, batch, steps, warmup, threads);
    try {
      Path log = Files.createTempFile("openclip-bench", ".log");
      try {
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        String lines = stdout.trim();
        if (rc != 0 || lines.isEmpty()) {
          List<String> err = Files.readAllLines(log);
          String tail = String.join("\n", err.subList(Math.max(0, err.size() - 15), err.size()));
          throw new IllegalStateException(
              "OpenCLIP benchmark exited " + rc + ": " + String.join(" ", cmd) + "\n" + tail);
        }
        return JsonParser.parseString(lines.substring(lines.lastIndexOf('\n') + 1))
            .getAsJsonObject();
      } finally {
        Files.deleteIfExists(log);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + python + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running the OpenCLIP benchmark", e);
    }
  }

  /** Median of each field over the rounds (upper median for even counts). */
  private static Side median(List<Side> sides) {
    return new Side(
        median(sides.stream().mapToDouble(Side::samplesPerSecond).toArray()),
        median(sides.stream().mapToDouble(Side::stepMillis).toArray()),
        median(sides.stream().mapToDouble(Side::forwardMillis).toArray()),
        median(sides.stream().mapToDouble(Side::backwardMillis).toArray()),
        median(sides.stream().mapToDouble(Side::optimizerMillis).toArray()));
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    java.util.Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }
}
