package io.flipflow.activities.data.image;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
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

  /** The default bound on decoded pixels (8192 x 8192): what staging and evaluation accept. */
  public static final long DEFAULT_MAX_PIXELS = 64L << 20;

  /**
   * Decodes {@code bytes}, refusing more than {@code maxPixels} decoded pixels; an
   * IllegalArgumentException says why when it is not a readable image or too large.
   */
  public static BufferedImage decode(byte[] bytes, long maxPixels) {
    try {
      return decode(new ByteArrayInputStream(bytes), maxPixels);
    } catch (IOException e) {
      throw new IllegalArgumentException("corrupt image: " + e.getMessage(), e);
    }
  }

  /** {@link #decode(byte[], long)} at {@link #DEFAULT_MAX_PIXELS}. */
  public static BufferedImage decode(byte[] bytes) {
    return decode(bytes, DEFAULT_MAX_PIXELS);
  }

  /** {@link #decode(InputStream, long)} at {@link #DEFAULT_MAX_PIXELS}. */
  public static BufferedImage decode(InputStream in) throws IOException {
    return decode(in, DEFAULT_MAX_PIXELS);
  }

  /**
   * Decodes with javax.imageio through a memory cache (no temp files), after reading the width and
   * height from the header: an image declaring more than {@code maxPixels} pixels (a decompression
   * bomb) is refused before any pixel is allocated. A format no reader knows, a decoder crashing on
   * corrupt data, and a too large image all become an IOException with the reason.
   */
  public static BufferedImage decode(InputStream in, long maxPixels) throws IOException {
    try (ImageInputStream stream = new MemoryCacheImageInputStream(in)) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(stream);
      if (!readers.hasNext()) {
        throw new IOException("no decoder recognises the bytes (unknown or corrupt format)");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(stream, true, true);
        long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
        if (pixels > maxPixels) {
          throw new IOException(
              "image is "
                  + reader.getWidth(0)
                  + " x "
                  + reader.getHeight(0)
                  + " = "
                  + pixels
                  + " pixels, over the limit of "
                  + maxPixels
                  + " (staging.max_image_pixels)");
        }
        BufferedImage image = reader.read(0);
        if (image == null) {
          throw new IOException("the decoder returned no image");
        }
        return image;
      } catch (RuntimeException e) { // corrupt data can crash a decoder with unchecked exceptions
        throw new IOException("image decoder failed: " + e, e);
      } finally {
        reader.dispose();
      }
    }
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
    BufferedImage canvas = toCanvas(img);
    int[] rgb = canvas.getRGB(0, 0, r, r, null, 0, r);
    int plane = r * r;
    for (int i = 0; i < plane; i++) {
      int p = rgb[i];
      dst[offset + i] = (byte) (p >> 16);
      dst[offset + plane + i] = (byte) (p >> 8);
      dst[offset + 2 * plane + i] = (byte) p;
    }
  }

  /**
   * The preprocessed image before its CHW layout: composited on white, resized, centre-cropped to
   * resolution x resolution RGB. Preprocessing it again gives the same pixels (no scaling).
   */
  public BufferedImage toCanvas(BufferedImage img) {
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
    return canvas;
  }

  public int resolution() {
    return resolution;
  }
}
