package io.flipflow.activities.eval;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

/**
 * Turns a decoded image into the CHW float array {@link ImageTextEncoder#encodeImages} takes. It
 * must match the preprocessing of training (the lead plugs in the staging's one if it differs).
 */
@FunctionalInterface
public interface ImagePreprocessor {

  /** A {@code 3 * size * size} CHW array. */
  float[] toChw(BufferedImage image, int size);

  /**
   * OpenCLIP's inference transform without the mean/std step: resize the shorter side to {@code
   * size} (bicubic), centre crop; transparent pixels composited onto {@code background} (emoji are
   * RGBA); RGB scaled to [0, 1].
   */
  static ImagePreprocessor resizeCenterCrop(Color background) {
    return (image, size) -> {
      BufferedImage canvas = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
      Graphics2D g = canvas.createGraphics();
      try {
        g.setColor(background);
        g.fillRect(0, 0, size, size);
        g.setRenderingHint(
            RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
        double scale = (double) size / Math.min(image.getWidth(), image.getHeight());
        int w = (int) Math.round(image.getWidth() * scale);
        int h = (int) Math.round(image.getHeight() * scale);
        g.drawImage(image, (size - w) / 2, (size - h) / 2, w, h, null);
      } finally {
        g.dispose();
      }
      int[] rgb = canvas.getRGB(0, 0, size, size, null, 0, size);
      int plane = size * size;
      float[] chw = new float[3 * plane];
      for (int p = 0; p < plane; p++) {
        int px = rgb[p];
        chw[p] = ((px >> 16) & 0xff) / 255f;
        chw[plane + p] = ((px >> 8) & 0xff) / 255f;
        chw[2 * plane + p] = (px & 0xff) / 255f;
      }
      return chw;
    };
  }

  /** {@link #resizeCenterCrop} on white, the background of the emoji renderings. */
  static ImagePreprocessor defaults() {
    return resizeCenterCrop(Color.WHITE);
  }
}
