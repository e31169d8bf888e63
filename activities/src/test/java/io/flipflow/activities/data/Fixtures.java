package io.flipflow.activities.data;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.webdataset.WdsSample;
import io.flipflow.activities.data.webdataset.WdsWriter;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/** Generated image-text shards for tests. */
public final class Fixtures {
  public static final List<String> COLOURS = List.of("red", "green", "blue", "yellow");

  private Fixtures() {}

  public static byte[] png(int w, int h, Color c) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
    Graphics2D g = img.createGraphics();
    g.setColor(c);
    g.fillRect(0, 0, w, h);
    g.dispose();
    return encode(img, "png");
  }

  public static byte[] encode(BufferedImage img, String format) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ImageIO.write(img, format, out);
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static Color colour(String name) {
    return switch (name) {
      case "red" -> Color.RED;
      case "green" -> Color.GREEN;
      case "blue" -> Color.BLUE;
      default -> Color.YELLOW;
    };
  }

  public static WdsSample sample(String key, String colour) {
    Map<String, byte[]> m = new LinkedHashMap<>();
    m.put("png", png(16, 12, colour(colour)));
    m.put("txt", ("a " + colour + " square").getBytes(StandardCharsets.UTF_8));
    m.put("json", ("{\"colour\":\"" + colour + "\"}").getBytes(StandardCharsets.UTF_8));
    return new WdsSample(key, m);
  }

  public static byte[] tar(List<WdsSample> samples) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (WdsWriter w = new WdsWriter(out)) {
      for (WdsSample s : samples) w.write(s);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** {@code shards} good shards of {@code perShard} samples under folder: 00000.tar ... */
  public static void writeShards(S3Store store, S3Uri folder, int shards, int perShard) {
    for (int s = 0; s < shards; s++) {
      List<WdsSample> samples = new java.util.ArrayList<>();
      for (int i = 0; i < perShard; i++) {
        samples.add(
            sample(
                String.format("%05d%04d", s, i), COLOURS.get((s * perShard + i) % COLOURS.size())));
      }
      store.put(folder.resolve(String.format("%05d.tar", s)), tar(samples));
    }
  }
}
