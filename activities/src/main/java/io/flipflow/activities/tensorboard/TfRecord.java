package io.flipflow.activities.tensorboard;

import java.io.IOException;
import java.io.OutputStream;
import java.util.zip.CRC32C;

/**
 * TFRecord framing, the container of TensorBoard event files: per record, little-endian {@code
 * uint64 length}, {@code uint32 masked_crc32c(length bytes)}, {@code data}, {@code uint32
 * masked_crc32c(data)}. The mask is TensorFlow's ({@code tensorflow/core/lib/hash/crc32c.h}):
 * rotate right by 15 bits, add {@code 0xa282ead8}.
 */
final class TfRecord {
  /** Framing bytes around each record's data. */
  static final int OVERHEAD = 8 + 4 + 4;

  private static final int MASK_DELTA = 0xa282ead8;

  private TfRecord() {}

  static int maskedCrc32c(byte[] bytes, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, offset, length);
    int c = (int) crc.getValue();
    return ((c >>> 15) | (c << 17)) + MASK_DELTA;
  }

  /** The whole framed record, so that it reaches the stream in one write. */
  static byte[] frame(byte[] data) {
    byte[] out = new byte[OVERHEAD + data.length];
    putLong(out, 0, data.length);
    putInt(out, 8, maskedCrc32c(out, 0, 8));
    System.arraycopy(data, 0, out, 12, data.length);
    putInt(out, 12 + data.length, maskedCrc32c(data, 0, data.length));
    return out;
  }

  static void write(OutputStream out, byte[] data) throws IOException {
    out.write(frame(data));
  }

  private static void putLong(byte[] b, int at, long v) {
    for (int i = 0; i < 8; i++) {
      b[at + i] = (byte) (v >>> (8 * i));
    }
  }

  private static void putInt(byte[] b, int at, int v) {
    for (int i = 0; i < 4; i++) {
      b[at + i] = (byte) (v >>> (8 * i));
    }
  }
}
