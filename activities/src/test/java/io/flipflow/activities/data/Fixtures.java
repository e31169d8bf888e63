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
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
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

  /** A sample of one PNG and its caption. */
  public static WdsSample member(String key, byte[] png, String caption) {
    Map<String, byte[]> m = new LinkedHashMap<>();
    m.put("png", png);
    m.put("txt", caption.getBytes(StandardCharsets.UTF_8));
    return new WdsSample(key, m);
  }

  /** A PNG whose header declares w x h RGBA pixels, with a few bytes of image data. */
  public static byte[] pngHeaderOnly(int w, int h) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(w).putInt(h);
    ihdr.put((byte) 8).put((byte) 6).put((byte) 0).put((byte) 0).put((byte) 0);
    chunk(out, "IHDR", ihdr.array());
    Deflater d = new Deflater();
    d.setInput(new byte[1024]);
    d.finish();
    byte[] idat = new byte[2048];
    chunk(out, "IDAT", Arrays.copyOf(idat, d.deflate(idat)));
    chunk(out, "IEND", new byte[0]);
    return out.toByteArray();
  }

  private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
    out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
    byte[] t = type.getBytes(StandardCharsets.US_ASCII);
    out.writeBytes(t);
    out.writeBytes(data);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }
}
