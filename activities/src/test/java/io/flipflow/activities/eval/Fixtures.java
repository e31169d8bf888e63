package io.flipflow.activities.eval;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Generated evaluation-set fixtures (never committed images) and a colour-aware fake encoder. */
final class Fixtures {
  private Fixtures() {}

  static byte[] png(Color color, int size) throws IOException {
    BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_ARGB);
    for (int y = 0; y < size; y++) {
      for (int x = 0; x < size; x++) {
        image.setRGB(x, y, color.getRGB());
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "png", out);
    return out.toByteArray();
  }

  static Path writePng(Path file, Color color) throws IOException {
    Files.createDirectories(file.getParent());
    Files.write(file, png(color, 12));
    return file;
  }

  /** Bytes that start like a PNG and then are garbage. */
  static byte[] corruptPng() {
    byte[] bytes = new byte[64];
    new Random(1).nextBytes(bytes);
    byte[] magic = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    System.arraycopy(magic, 0, bytes, 0, magic.length);
    return bytes;
  }

  static void writeTar(Path tar, Map<String, byte[]> members) throws IOException {
    try (OutputStream out = Files.newOutputStream(tar);
        TarArchiveOutputStream t = new TarArchiveOutputStream(out)) {
      for (Map.Entry<String, byte[]> m : members.entrySet()) {
        TarArchiveEntry e = new TarArchiveEntry(m.getKey());
        e.setSize(m.getValue().length);
        t.putArchiveEntry(e);
        t.write(m.getValue());
        t.closeArchiveEntry();
      }
    }
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Embeds an image as its mean RGB colour and a text by the colour words it contains, so an
   * evaluation with it has a known answer. A masked view adds noise drawn from the seed (scaled by
   * the ratio), standing in for the information masking removes. Records every call.
   */
  static class ColourEncoder implements ImageTextEncoder {
    final List<Integer> imageBatchSizes = new ArrayList<>();
    final List<Integer> textBatchSizes = new ArrayList<>();
    final List<Long> seeds = new ArrayList<>();
    final List<Double> ratios = new ArrayList<>();

    @Override
    public int imageSize() {
      return 8;
    }

    @Override
    public float[][] encodeImages(List<byte[]> images, double maskRatio, long seed) {
      imageBatchSizes.add(images.size());
      seeds.add(seed);
      ratios.add(maskRatio);
      Random noise = new Random(seed);
      float[][] out = new float[images.size()][];
      for (int i = 0; i < images.size(); i++) {
        byte[] chw = images.get(i);
        int plane = chw.length / 3;
        float[] v = new float[3];
        for (int c = 0; c < 3; c++) {
          for (int p = 0; p < plane; p++) {
            v[c] += (chw[c * plane + p] & 0xff) / 255f / plane;
          }
          v[c] += (float) (maskRatio * noise.nextGaussian());
        }
        out[i] = Embeddings.l2Normalize(v);
      }
      return out;
    }

    @Override
    public float[][] encodeTexts(List<String> texts) {
      textBatchSizes.add(texts.size());
      return texts.stream()
          .map(
              t ->
                  Embeddings.l2Normalize(
                      new float[] {
                        t.contains("red") ? 1 : 0,
                        t.contains("green") ? 1 : 0,
                        t.contains("blue") ? 1 : 0
                      }))
          .toArray(float[][]::new);
    }

    @Override
    public String toString() {
      return "ColourEncoder" + Arrays.asList(imageBatchSizes);
    }
  }
}
