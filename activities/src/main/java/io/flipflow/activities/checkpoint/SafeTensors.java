package io.flipflow.activities.checkpoint;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The safetensors format (Hugging Face's; what OpenCLIP, {@code transformers} and most tools read):
 * an 8-byte little-endian header length N, N bytes of JSON ({@code {"name": {"dtype", "shape",
 * "data_offsets": [begin, end]}, "__metadata__": {...}}}), then the tensors' bytes, little-endian,
 * row-major, one after another with no gaps.
 *
 * <p>Written here rather than through DJL's {@code NDList.encode/decode(SAFETENSORS)}, which has
 * int offsets (files under 2 GiB: ViT-H/14 in fp32 is 3.8 GB), no {@code __metadata__}, no bf16,
 * and reports a truncated file as a bare buffer error. Reading checks the whole layout first and
 * names the file and what is wrong; tensors are read with a file mapping per tensor, so a file of
 * any size works. Values come out as float32 (from F32, F16, BF16 or F64).
 *
 * <p>Over 350 lines: a reader and writer of one format, with every layout check it makes.
 */
public final class SafeTensors {
  /** Larger headers are refused: a real one is a few hundred bytes per tensor. */
  static final long MAX_HEADER_BYTES = 100L << 20;

  private static final Map<String, Integer> DTYPE_BYTES =
      Map.ofEntries(
          Map.entry("F64", 8),
          Map.entry("F32", 4),
          Map.entry("F16", 2),
          Map.entry("BF16", 2),
          Map.entry("I64", 8),
          Map.entry("I32", 4),
          Map.entry("I16", 2),
          Map.entry("I8", 1),
          Map.entry("U8", 1),
          Map.entry("BOOL", 1));

  /** One tensor's entry in a file: where its bytes are. */
  public record Entry(String name, String dtype, long[] shape, long begin, long end) {
    public long elements() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }

    public String shapeText() {
      return Arrays.toString(shape);
    }
  }

  /** A float32 tensor to write. */
  public record FloatTensor(long[] shape, float[] values) {
    public FloatTensor {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      if (n != values.length) {
        throw new IllegalArgumentException(
            "shape " + Arrays.toString(shape) + " holds " + n + " values, got " + values.length);
      }
    }
  }

  /** An opened file: its entries (in file order) and metadata; values are read on demand. */
  public static final class Reader implements AutoCloseable {
    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private Reader(
        Path file,
        FileChannel channel,
        long dataStart,
        Map<String, Entry> entries,
        Map<String, String> metadata) {
      this.file = file;
      this.channel = channel;
      this.dataStart = dataStart;
      this.entries = entries;
      this.metadata = metadata;
    }

    public Path file() {
      return file;
    }

    /** Tensors by name, in the order of their bytes. */
    public Map<String, Entry> entries() {
      return entries;
    }

    /** The {@code __metadata__} strings; empty when there are none. */
    public Map<String, String> metadata() {
      return metadata;
    }

    /** The tensor's values as float32 (a floating-point dtype only). */
    public float[] floats(String name) {
      Entry e = entries.get(name);
      if (e == null) {
        throw new IllegalArgumentException(file + ": no tensor named " + name);
      }
      if (e.elements() > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException(
            file + ": tensor " + name + " has " + e.elements() + " values, too many for one array");
      }
      ByteBuffer bytes;
      try {
        bytes =
            channel
                .map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), e.end() - e.begin())
                .order(ByteOrder.LITTLE_ENDIAN);
      } catch (IOException ex) {
        throw new UncheckedIOException(file + ": cannot read tensor " + name, ex);
      }
      int n = (int) e.elements();
      float[] out = new float[n];
      switch (e.dtype()) {
        case "F32" -> bytes.asFloatBuffer().get(out);
        case "F64" -> {
          for (int i = 0; i < n; i++) {
            out[i] = (float) bytes.getDouble(8 * i);
          }
        }
        case "BF16" -> {
          for (int i = 0; i < n; i++) {
            out[i] = Float.intBitsToFloat((bytes.getShort(2 * i) & 0xffff) << 16);
          }
        }
        case "F16" -> {
          for (int i = 0; i < n; i++) {
            out[i] = halfToFloat(bytes.getShort(2 * i));
          }
        }
        default ->
            throw new IllegalArgumentException(
                file
                    + ": tensor "
                    + name
                    + " is "
                    + e.dtype()
                    + ", not a floating-point type (F32, F16, BF16, F64)");
      }
      return out;
    }

    @Override
    public void close() {
      try {
        channel.close();
      } catch (IOException ignored) {
        // read-only
      }
    }
  }

  private SafeTensors() {}

  /**
   * Opens {@code file} and checks its layout: header length, JSON, every entry's dtype, shape and
   * offsets, and that the tensors' bytes exactly fill the rest of the file. Bad input is an
   * IllegalArgumentException naming the file and what is wrong.
   */
  public static Reader open(Path file) {
    FileChannel channel = null;
    try {
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException(file + " does not exist");
      }
      channel = FileChannel.open(file, StandardOpenOption.READ);
      long size = channel.size();
      if (size < 8) {
        throw new IllegalArgumentException(
            file + " is " + size + " bytes: too short for a safetensors header (truncated?)");
      }
      ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(channel, lengthBytes, 0);
      long headerLength = lengthBytes.getLong(0);
      if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES) {
        throw new IllegalArgumentException(
            file + ": header length " + headerLength + " is not that of a safetensors file");
      }
      if (8 + headerLength > size) {
        throw new IllegalArgumentException(
            file
                + " is truncated: its header says "
                + headerLength
                + " bytes of JSON follow, the file has "
                + (size - 8));
      }
      ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
      readFully(channel, headerBytes, 8);
      JsonObject header;
      try {
        header =
            JsonParser.parseString(new String(headerBytes.array(), StandardCharsets.UTF_8))
                .getAsJsonObject();
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(
            file + ": the safetensors header is not a JSON object: " + e.getMessage(), e);
      }
      long dataStart = 8 + headerLength;
      long dataSize = size - dataStart;
      Map<String, String> metadata = new LinkedHashMap<>();
      List<Entry> list = new ArrayList<>();
      for (Map.Entry<String, JsonElement> kv : header.entrySet()) {
        if (kv.getKey().equals("__metadata__")) {
          if (kv.getValue().isJsonObject()) {
            kv.getValue()
                .getAsJsonObject()
                .entrySet()
                .forEach(m -> metadata.put(m.getKey(), m.getValue().getAsString()));
          }
          continue;
        }
        list.add(entry(file, kv.getKey(), kv.getValue()));
      }
      list.sort(Comparator.comparingLong(Entry::begin));
      long expected = 0;
      for (Entry e : list) {
        if (e.begin() != expected) {
          throw new IllegalArgumentException(
              file
                  + ": tensor "
                  + e.name()
                  + " starts at data byte "
                  + e.begin()
                  + ", expected "
                  + expected
                  + " (overlapping or with a gap)");
        }
        expected = e.end();
      }
      if (expected > dataSize) {
        Entry last = list.get(list.size() - 1);
        throw new IllegalArgumentException(
            file
                + " is truncated: its tensors need "
                + expected
                + " bytes of data, the file holds "
                + dataSize
                + " (tensor "
                + last.name()
                + " "
                + last.shapeText()
                + " ends at "
                + last.end()
                + ")");
      }
      if (expected < dataSize) {
        throw new IllegalArgumentException(
            file
                + ": "
                + (dataSize - expected)
                + " bytes after the last tensor (the header accounts for "
                + expected
                + " of "
                + dataSize
                + ")");
      }
      Map<String, Entry> entries = new LinkedHashMap<>();
      list.forEach(e -> entries.put(e.name(), e));
      return new Reader(file, channel, dataStart, entries, metadata);
    } catch (IOException e) {
      closeQuietly(channel);
      throw new UncheckedIOException("cannot read " + file, e);
    } catch (RuntimeException e) {
      closeQuietly(channel);
      throw e;
    }
  }

  private static Entry entry(Path file, String name, JsonElement value) {
    String where = file + ": tensor " + name;
    try {
      JsonObject o = value.getAsJsonObject();
      String dtype = o.get("dtype").getAsString();
      Integer bytes = DTYPE_BYTES.get(dtype);
      if (bytes == null) {
        throw new IllegalArgumentException(
            where + " has dtype " + dtype + ", not one of " + new TreeMap<>(DTYPE_BYTES).keySet());
      }
      var shapeJson = o.getAsJsonArray("shape");
      long[] shape = new long[shapeJson.size()];
      long elements = 1;
      for (int i = 0; i < shape.length; i++) {
        shape[i] = shapeJson.get(i).getAsLong();
        if (shape[i] < 0) {
          throw new IllegalArgumentException(where + " has a negative dimension: " + shapeJson);
        }
        elements = Math.multiplyExact(elements, shape[i]);
      }
      var offsets = o.getAsJsonArray("data_offsets");
      long begin = offsets.get(0).getAsLong();
      long end = offsets.get(1).getAsLong();
      if (begin < 0 || end < begin || end - begin != elements * bytes) {
        throw new IllegalArgumentException(
            where
                + ": data_offsets ["
                + begin
                + ", "
                + end
                + "] do not hold "
                + Arrays.toString(shape)
                + " x "
                + dtype
                + " = "
                + elements * bytes
                + " bytes");
      }
      return new Entry(name, dtype, shape, begin, end);
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(where + " has a malformed header entry: " + value, e);
    }
  }

  /**
   * Writes float32 tensors in the given order, with optional metadata; the header is padded with
   * spaces to a multiple of 8 bytes, as the reference writer does, so the data is aligned.
   */
  public static void write(Path file, Map<String, FloatTensor> tensors, Map<String, String> meta)
      throws IOException {
    Map<String, Object> header = new LinkedHashMap<>();
    if (meta != null && !meta.isEmpty()) {
      header.put("__metadata__", new TreeMap<>(meta));
    }
    long offset = 0;
    for (Map.Entry<String, FloatTensor> e : tensors.entrySet()) {
      long bytes = 4L * e.getValue().values().length;
      Map<String, Object> d = new LinkedHashMap<>();
      d.put("dtype", "F32");
      d.put("shape", e.getValue().shape());
      d.put("data_offsets", new long[] {offset, offset + bytes});
      header.put(e.getKey(), d);
      offset += bytes;
    }
    byte[] json = new Gson().toJson(header).getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + 7) / 8 * 8;
    byte[] headerBytes = Arrays.copyOf(json, padded);
    Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      length.putLong(padded);
      out.write(length.array());
      out.write(headerBytes);
      ByteBuffer chunk = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
      for (FloatTensor t : tensors.values()) {
        for (float v : t.values()) {
          if (!chunk.hasRemaining()) {
            out.write(chunk.array(), 0, chunk.position());
            chunk.clear();
          }
          chunk.putFloat(v);
        }
      }
      out.write(chunk.array(), 0, chunk.position());
    }
  }

  /** IEEE 754 half precision to float (Java 17 has no {@code Float.float16ToFloat}). */
  static float halfToFloat(short half) {
    int h = half & 0xffff;
    int sign = (h & 0x8000) << 16;
    int exponent = (h >>> 10) & 0x1f;
    int mantissa = h & 0x3ff;
    if (exponent == 0x1f) { // inf or NaN
      return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
    }
    if (exponent == 0) {
      if (mantissa == 0) {
        return Float.intBitsToFloat(sign);
      }
      // subnormal: value = mantissa * 2^-24
      float v = mantissa * 0x1p-24f;
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }

  private static void readFully(FileChannel channel, ByteBuffer buffer, long position)
      throws IOException {
    long at = position;
    while (buffer.hasRemaining()) {
      int n = channel.read(buffer, at);
      if (n < 0) {
        throw new IOException("unexpected end of file");
      }
      at += n;
    }
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // nothing to do
      }
    }
  }
}
