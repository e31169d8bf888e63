package io.flipflow.activities.data.staging;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import javax.imageio.ImageIO;

/**
 * Decodes an image and makes it the model's input: transparent pixels composited on white (emoji
 * are RGBA), shorter side resized to the resolution, centre crop (OpenCLIP's eval transform), and
 * laid out as uint8 CHW.
 */
public final class ImagePreprocessor {
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
    BufferedImage img;
    try {
      img = ImageIO.read(new ByteArrayInputStream(bytes));
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("corrupt image: " + e.getMessage(), e);
    }
    if (img == null) {
      throw new IllegalArgumentException("corrupt image: no decoder recognises the bytes");
    }
    return img;
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
          RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
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
