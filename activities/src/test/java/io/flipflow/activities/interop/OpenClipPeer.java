package io.flipflow.activities.interop;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.flipflow.activities.data.image.ImagePreprocessor;
import io.flipflow.activities.eval.ClipImageTextEncoder;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;

/**
 * The real OpenCLIP, in the venv {@code bench/openclip/setup.sh} makes (.ci/run runs it): runs
 * {@code bench/openclip/interop_check.py} and reads what it wrote. Tests that need it call {@link
 * #require()}, which skips them with the reason printed where the venv is missing.
 */
final class OpenClipPeer {
  static final Path HOME = Path.of(System.getProperty("flipflow.home", "..")).toAbsolutePath();
  static final Path PYTHON = HOME.resolve("bench/openclip/.venv/bin/python");
  static final Path SCRIPT = HOME.resolve("bench/openclip/interop_check.py");

  private OpenClipPeer() {}

  static void require() {
    boolean present = Files.isExecutable(PYTHON);
    if (!present) {
      System.out.println(
          "skipped: no OpenCLIP venv at "
              + PYTHON
              + " (run bench/openclip/setup.sh; .ci/run does)");
    }
    assumeTrue(present, "no OpenCLIP venv at " + PYTHON + " (run bench/openclip/setup.sh)");
  }

  /** Runs interop_check.py with {@code args}; a failure shows its output. */
  static void run(Path work, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(PYTHON.toString(), SCRIPT.toString()));
    cmd.addAll(List.of(args));
    Path log = Files.createTempFile(work, "python-", ".log");
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("HF_HUB_OFFLINE", "1");
    pb.environment().put("TRANSFORMERS_OFFLINE", "1");
    pb.environment().put("OMP_NUM_THREADS", "2");
    pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    Process p = pb.start();
    if (!p.waitFor(15, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("interop_check.py timed out: " + Files.readString(log));
    }
    if (p.exitValue() != 0) {
      throw new AssertionError(
          "interop_check.py "
              + args[0]
              + " failed ("
              + p.exitValue()
              + "):\n"
              + Files.readString(log));
    }
  }

  static JsonObject readJson(Path file) throws IOException {
    return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
  }

  static float[][] matrix(JsonArray rows) {
    float[][] out = new float[rows.size()][];
    for (int i = 0; i < rows.size(); i++) {
      JsonArray r = rows.get(i).getAsJsonArray();
      out[i] = new float[r.size()];
      for (int j = 0; j < r.size(); j++) {
        out[i][j] = r.get(j).getAsFloat();
      }
    }
    return out;
  }

  /** {@code count} random RGB PNGs of side {@code size} (the model's: preprocessing is exact). */
  static List<Path> writeImages(Path dir, int count, int size, long seed) throws IOException {
    Files.createDirectories(dir);
    Random random = new Random(seed);
    List<Path> files = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
      // smooth blobs plus noise: something like a picture, not only noise
      int cx = random.nextInt(size);
      int cy = random.nextInt(size);
      int colour = random.nextInt(0xffffff);
      for (int y = 0; y < size; y++) {
        for (int x = 0; x < size; x++) {
          double d = Math.hypot(x - cx, y - cy) / size;
          int r = clamp((int) (((colour >> 16) & 255) * (1 - d)) + random.nextInt(40) - 20);
          int g = clamp((int) (((colour >> 8) & 255) * (1 - d)) + random.nextInt(40) - 20);
          int b = clamp((int) ((colour & 255) * d) + random.nextInt(40) - 20);
          img.setRGB(x, y, (r << 16) | (g << 8) | b);
        }
      }
      Path f = dir.resolve(String.format("img%02d.png", i));
      ImageIO.write(img, "png", f.toFile());
      files.add(f);
    }
    return files;
  }

  private static int clamp(int v) {
    return Math.max(0, Math.min(255, v));
  }

  /** 32 captions of the words given, some with unknown words, one longer than any context. */
  static List<String> captions(List<String> words, int count, long seed) {
    Random random = new Random(seed);
    List<String> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int n = i == 0 ? 0 : i == 1 ? 60 : 1 + random.nextInt(8);
      StringBuilder sb = new StringBuilder();
      for (int w = 0; w < n; w++) {
        if (w > 0) {
          sb.append(' ');
        }
        sb.append(i % 7 == 3 && w == 0 ? "zebra" : words.get(random.nextInt(words.size())));
      }
      if (i % 5 == 2) {
        sb.append('.');
      }
      out.add(sb.toString());
    }
    return out;
  }

  static Path writeCaptions(Path file, List<String> captions) throws IOException {
    Files.writeString(file, String.join("\n", captions) + "\n", StandardCharsets.UTF_8);
    return file;
  }

  /** flipflow's embeddings, through the same code as its evaluation (preprocessor, encoder). */
  static float[][] flipflowImages(ClipImageTextEncoder encoder, List<Path> files, int size)
      throws IOException {
    ImagePreprocessor pre = new ImagePreprocessor(size);
    List<byte[]> pixels = new ArrayList<>();
    for (Path f : files) {
      pixels.add(pre.toChw(ImagePreprocessor.decode(Files.readAllBytes(f))));
    }
    return encoder.encodeImages(pixels, 0, 0);
  }

  static double cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  }

  /** The smallest per-row cosine between two sets of embeddings. */
  static double minCosine(float[][] a, float[][] b) {
    if (a.length != b.length) {
      throw new AssertionError(a.length + " embeddings against " + b.length);
    }
    double min = 1;
    for (int i = 0; i < a.length; i++) {
      min = Math.min(min, cosine(a[i], b[i]));
    }
    return min;
  }

  /** {@code scale} (the temperature multiplier, exp(logit_scale)) * image . text for every pair. */
  static float[][] logits(float[][] images, float[][] texts, double scale) {
    float[][] out = new float[images.length][texts.length];
    for (int i = 0; i < images.length; i++) {
      for (int j = 0; j < texts.length; j++) {
        double dot = 0;
        for (int k = 0; k < images[i].length; k++) {
          dot += (double) images[i][k] * texts[j][k];
        }
        out[i][j] = (float) (scale * dot);
      }
    }
    return out;
  }

  static double maxAbsDiff(float[][] a, float[][] b) {
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      for (int j = 0; j < a[i].length; j++) {
        max = Math.max(max, Math.abs(a[i][j] - b[i][j]));
      }
    }
    return max;
  }

  /** Whether two towers' outputs agree by the bar: cosine >= 0.9999 on every row. */
  static boolean agree(float[][] a, float[][] b) {
    return minCosine(a, b) >= 0.9999;
  }
}
