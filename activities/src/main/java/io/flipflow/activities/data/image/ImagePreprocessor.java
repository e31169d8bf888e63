package io.flipflow.activities.data.image;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import javax.imageio.ImageIO;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * The one image preprocessing of flipflow, shared by staging (what training sees) and evaluation,
 * so a model is evaluated on exactly the pixels it was trained on for the same source image:
 * transparent pixels composited on white (emoji are RGBA), shorter side resized to the resolution
 * (bicubic, as OpenCLIP's transform), centre crop, laid out as uint8 CHW. The model's mean/std
 * normalisation follows ({@code ImageNormalization}).
 */
public final class ImagePreprocessor {
  /** What {@link #toChw} does, in words: part of a staged set's content key. */
  public static final String DESCRIPTION =
      "composite-white, shorter-side bicubic, centre crop, uint8";

  static {
    ImageIO.setUseCache(false);
  }

  private final int resolution;

  public ImagePreprocessor(int resolution) {
    if (resolution <= 0) {
      throw new IllegalArgumentException("resolution must be positive, got " + resolution);
    }
    this.resolution = resolution;
  }

  /**
   * Decodes {@code bytes}; an IllegalArgumentException says why when it is not a readable image.
   */
  public static BufferedImage decode(byte[] bytes) {
    try {
      return decode(new ByteArrayInputStream(bytes));
    } catch (IOException e) {
      throw new IllegalArgumentException("corrupt image: " + e.getMessage(), e);
    }
  }

  /**
   * Decodes with javax.imageio through a memory cache (no temp files). A format no reader knows,
   * and a decoder crashing on corrupt data, both become an IOException with the reason.
   */
  public static BufferedImage decode(InputStream in) throws IOException {
    // ImageIO.read closes the stream itself, except when it returns null.
    MemoryCacheImageInputStream stream = new MemoryCacheImageInputStream(in);
    BufferedImage image;
    try {
      image = ImageIO.read(stream);
    } catch (RuntimeException e) { // corrupt data can crash a decoder with unchecked exceptions
      throw new IOException("image decoder failed: " + e, e);
    }
    if (image == null) {
      stream.close();
      throw new IOException("no decoder recognises the bytes (unknown or corrupt format)");
    }
    return image;
  }

  /** A new {@code 3 * resolution * resolution} uint8 CHW array of {@code img}. */
  public byte[] toChw(BufferedImage img) {
    byte[] chw = new byte[3 * resolution * resolution];
    toChw(img, chw, 0);
    return chw;
  }

  /** Writes 3 x resolution x resolution bytes (R plane, G plane, B plane) at {@code offset}. */
  public void toChw(BufferedImage img, byte[] dst, int offset) {
    int r = resolution;
    BufferedImage canvas = new BufferedImage(r, r, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = canvas.createGraphics();
    try {
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, r, r);
      g.setRenderingHint(
          RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
      g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
      double scale = (double) r / Math.min(img.getWidth(), img.getHeight());
      int w = (int) Math.round(img.getWidth() * scale);
      int h = (int) Math.round(img.getHeight() * scale);
      g.drawImage(img, (r - w) / 2, (r - h) / 2, w, h, null);
    } finally {
      g.dispose();
    }
    int[] rgb = canvas.getRGB(0, 0, r, r, null, 0, r);
    int plane = r * r;
    for (int i = 0; i < plane; i++) {
      int p = rgb[i];
      dst[offset + i] = (byte) (p >> 16);
      dst[offset + plane + i] = (byte) (p >> 8);
      dst[offset + 2 * plane + i] = (byte) p;
    }
  }

  public int resolution() {
    return resolution;
  }
}
