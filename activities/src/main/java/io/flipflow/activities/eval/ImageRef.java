package io.flipflow.activities.eval;

import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.data.image.ImagePreprocessor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An image of an evaluation set, decoded on demand so a set of many images does not sit in memory
 * as pixels: a file on local disk or the bytes of a tar member.
 */
public interface ImageRef {

  /** Where the image comes from (a path, or {@code shard.tar!member}), for messages. */
  String name();

  /** Decodes the image; an undecodable one is an {@link IOException} whose message says why. */
  BufferedImage decode() throws IOException;

  /**
   * The SHA-256 of the encoded image, so identical images in several sets of one evaluation are
   * embedded once; null where unknown (each such image is embedded on its own).
   */
  default String contentDigest() {
    return null;
  }

  static ImageRef ofFile(Path file) {
    return new ImageRef() {
      @Override
      public String name() {
        return file.toString();
      }

      @Override
      public BufferedImage decode() throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
          return ImagePreprocessor.decode(in);
        }
      }

      @Override
      public String contentDigest() {
        try {
          return CheckpointDir.sha256(Files.readAllBytes(file));
        } catch (IOException e) {
          return null; // embedded on its own; decoding it will say what is wrong
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
        return ImagePreprocessor.decode(new ByteArrayInputStream(encoded));
      }

      @Override
      public String contentDigest() {
        return CheckpointDir.sha256(encoded);
      }

      @Override
      public String toString() {
        return name;
      }
    };
  }
}
