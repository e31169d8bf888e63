package io.flipflow.activities.data.fashion;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * An unsigned-byte IDX file (LeCun's MNIST format, also Fashion-MNIST's), gzip-compressed or not:
 * magic {@code 0x00 0x00 0x08 ndim}, then {@code ndim} big-endian int32 sizes, then the bytes.
 * Hand-written because the format is a 4-line header and no maintained Java library reads it.
 *
 * @param dims sizes, e.g. {@code [60000, 28, 28]} for images, {@code [60000]} for labels
 * @param data every element, row-major
 */
public record IdxFile(int[] dims, byte[] data) {
  private static final int UNSIGNED_BYTE = 0x08;

  /** Number of items (the first dimension). */
  public int count() {
    return dims[0];
  }

  /** Bytes per item: the product of the other dimensions (1 for labels). */
  public int itemBytes() {
    int n = 1;
    for (int i = 1; i < dims.length; i++) n *= dims[i];
    return n;
  }

  /** Item {@code i}'s bytes (a 28x28 image, or a one-byte label). */
  public byte[] item(int i) {
    return Arrays.copyOfRange(data, i * itemBytes(), (i + 1) * itemBytes());
  }

  /** Reads {@code file}; gunzips when the name ends in {@code .gz}. */
  public static IdxFile read(Path file) {
    try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        InputStream in =
            file.toString().endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw) {
      return read(in, file.toString());
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("IDX file " + file + " does not exist", e);
    } catch (IOException e) {
      throw new UncheckedIOException("reading IDX file " + file, e);
    }
  }

  static IdxFile read(InputStream stream, String name) throws IOException {
    DataInputStream in = new DataInputStream(stream);
    int magic;
    try {
      magic = in.readInt();
    } catch (EOFException e) {
      throw new IllegalArgumentException("IDX file " + name + " is empty", e);
    }
    if ((magic >>> 16) != 0 || ((magic >>> 8) & 0xff) != UNSIGNED_BYTE || (magic & 0xff) == 0) {
      throw new IllegalArgumentException(
          String.format(
              "IDX file %s: magic 0x%08x is not an unsigned-byte IDX header (0x000008NN)",
              name, magic));
    }
    int[] dims = new int[magic & 0xff];
    long total = 1;
    for (int i = 0; i < dims.length; i++) {
      dims[i] = in.readInt();
      if (dims[i] <= 0) {
        throw new IllegalArgumentException(
            "IDX file " + name + ": dimension " + i + " is " + dims[i]);
      }
      total *= dims[i];
    }
    if (total > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "IDX file " + name + ": " + total + " elements is too many for one array");
    }
    byte[] data = new byte[(int) total];
    try {
      in.readFully(data);
    } catch (EOFException e) {
      throw new IllegalArgumentException(
          "IDX file " + name + " is truncated: header says " + total + " bytes of data", e);
    }
    return new IdxFile(dims, data);
  }
}
