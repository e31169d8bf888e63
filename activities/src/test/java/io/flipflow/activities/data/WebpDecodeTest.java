package io.flipflow.activities.data;

import static org.junit.jupiter.api.Assertions.*;

import io.flipflow.activities.data.image.ImagePreprocessor;
import java.awt.image.BufferedImage;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/**
 * img2dataset writes webp shards; ImageIO reads them through TwelveMonkeys' imageio-webp. Java has
 * no webp writer, so the two images are embedded: an 8x8 PNG (left half red, right half blue) made
 * by Debian's {@code cwebp} 1.2.4 ({@code cwebp -lossless} and {@code cwebp -q 90}).
 */
class WebpDecodeTest {
  static final byte[] LOSSLESS =
      Base64.getDecoder().decode("UklGRh4AAABXRUJQVlA4TBIAAAAvB8ABAA8Q87//8x8O+hDR/wA=");
  static final byte[] LOSSY =
      Base64.getDecoder()
          .decode(
              "UklGRloAAABXRUJQVlA4IE4AAAAwAwCdASoIAAgAAMASJagCdLoB+AFGA/ACu/9wABGB3KzAAP79nr/"
                  + "+cyG3/7tkSYKRP+uiftsiTBSJ//Wjn/41LKEjlc3+NSyhI5feAAA=");

  @Test
  void losslessWebpDecodesExactly() {
    BufferedImage img = ImagePreprocessor.decode(LOSSLESS);
    assertEquals(8, img.getWidth());
    assertEquals(8, img.getHeight());
    assertEquals(0xff0000, img.getRGB(1, 3) & 0xffffff);
    assertEquals(0x0000ff, img.getRGB(6, 3) & 0xffffff);
  }

  @Test
  void lossyWebpDecodesCloseToTheColours() {
    BufferedImage img = ImagePreprocessor.decode(LOSSY);
    assertEquals(8, img.getWidth());
    int left = img.getRGB(0, 4);
    int right = img.getRGB(7, 4);
    assertTrue(((left >> 16) & 0xff) > 200 && (left & 0xff) < 60, Integer.toHexString(left));
    assertTrue(((right >> 16) & 0xff) < 60 && (right & 0xff) > 200, Integer.toHexString(right));
  }

  @Test
  void webpIsPreprocessedLikeAnyImage() {
    byte[] chw = new byte[3 * 4 * 4];
    new ImagePreprocessor(4).toChw(ImagePreprocessor.decode(LOSSLESS), chw, 0);
    assertEquals((byte) 255, chw[0]); // R plane, top-left: red
    assertEquals((byte) 0, chw[16 + 0]); // G plane
    assertEquals((byte) 255, chw[32 + 3]); // B plane, top-right: blue
    assertEquals((byte) 0, chw[3]); // R plane, top-right
  }
}
