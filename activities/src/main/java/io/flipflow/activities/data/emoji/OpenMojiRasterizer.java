package io.flipflow.activities.data.emoji;

import com.github.weisj.jsvg.SVGDocument;
import com.github.weisj.jsvg.parser.LoaderContext;
import com.github.weisj.jsvg.parser.SVGLoader;
import com.github.weisj.jsvg.view.ViewBox;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/** Renders an OpenMoji SVG (viewBox 72x72) to a square RGBA PNG with JSVG. */
public final class OpenMojiRasterizer {
  private final SVGLoader loader = new SVGLoader();

  public byte[] renderPng(byte[] svg, int size, String name) {
    SVGDocument doc =
        loader.load(new ByteArrayInputStream(svg), null, LoaderContext.createDefault());
    if (doc == null) {
      throw new IllegalArgumentException("SVG " + name + " does not parse");
    }
    BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_ARGB);
    Graphics2D g = img.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
      doc.render(null, g, new ViewBox(0, 0, size, size));
    } finally {
      g.dispose();
    }
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ImageIO.write(img, "png", out);
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
