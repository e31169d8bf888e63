package io.flipflow.activities.eval;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * An image of an evaluation set, decoded on demand so a set of many images does not sit in memory
 * as pixels: a file on local disk or the bytes of a tar member.
 */
public interface ImageRef {

  /** Where the image comes from (a path, or {@code shard.tar!member}), for messages. */
  String name();

  /** Decodes the image; an undecodable one is an {@link IOException} whose message says why. */
  BufferedImage decode() throws IOException;

  static ImageRef ofFile(Path file) {
    return new ImageRef() {
      @Override
      public String name() {
        return file.toString();
      }

      @Override
      public BufferedImage decode() throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
          return ImageRef.decode(in);
        }
      }

      @Override
      public String toString() {
        return name();
      }
    };
  }

  static ImageRef ofBytes(String name, byte[] encoded) {
    return new ImageRef() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public BufferedImage decode() throws IOException {
        return ImageRef.decode(new ByteArrayInputStream(encoded));
      }

      @Override
      public String toString() {
        return name;
      }
    };
  }

  /**
   * Decodes with javax.imageio through a memory cache (no temp files). A format no reader knows,
   * and a decoder crashing on corrupt data, both become an IOException with the reason.
   */
  private static BufferedImage decode(InputStream in) throws IOException {
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
      throw new IOException(
          "no javax.imageio reader recognises the data (unknown or corrupt format)");
    }
    return image;
  }
}
