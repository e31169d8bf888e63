package io.flipflow.activities.data.webdataset;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes samples as img2dataset lays them out in S3: {@code 00000.tar}, {@code 00001.tar}, ... each
 * with a {@code 00000_stats.json} beside it, and on close a {@code sizes.json} (shard name ->
 * sample count, what OpenCLIP reads for {@code --train-num-samples}). Shards are built in a local
 * temporary file and uploaded whole, with img2dataset's {@code 00000.parquet} of the shard's
 * samples (key, caption, status, sizes and url where the sample's {@code .json} has them, the
 * image's sha256).
 */
public final class ShardSink implements AutoCloseable {
  private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

  private final S3Store store;
  private final S3Uri folder;
  private final int samplesPerShard;
  private final Map<String, Long> sizes = new LinkedHashMap<>();
  private final List<ShardParquet.Row> rows = new ArrayList<>();
  private Path current;
  private WdsWriter writer;
  private int shardIndex;
  private long total;

  public ShardSink(S3Store store, S3Uri folder, int samplesPerShard) {
    if (samplesPerShard <= 0) {
      throw new IllegalArgumentException(
          "samplesPerShard must be positive, got " + samplesPerShard);
    }
    this.store = store;
    this.folder = folder;
    this.samplesPerShard = samplesPerShard;
  }

  public void write(WdsSample sample) {
    try {
      if (writer == null) {
        current = Files.createTempFile("flipflow-shard-", ".tar");
        writer = new WdsWriter(Files.newOutputStream(current));
      }
      writer.write(sample);
      rows.add(rowOf(sample));
      total++;
      if (writer.samples() >= samplesPerShard) {
        flush();
      }
    } catch (IOException e) {
      throw new UncheckedIOException("writing a shard for " + folder, e);
    }
  }

  private void flush() throws IOException {
    if (writer == null) {
      return;
    }
    writer.close();
    long count = writer.samples();
    String name = String.format("%05d", shardIndex++);
    try {
      store.put(folder.resolve(name + ".tar"), current);
    } finally {
      Files.deleteIfExists(current);
    }
    Path parquet = Files.createTempFile("flipflow-shard-", ".parquet");
    try {
      ShardParquet.write(parquet, rows);
      store.put(folder.resolve(name + ".parquet"), parquet);
    } finally {
      Files.deleteIfExists(parquet);
      rows.clear();
    }
    Map<String, Object> stats = new LinkedHashMap<>();
    stats.put("count", count);
    stats.put("successes", count);
    stats.put("failed_to_download", 0);
    stats.put("failed_to_resize", 0);
    store.put(
        folder.resolve(name + "_stats.json"), GSON.toJson(stats).getBytes(StandardCharsets.UTF_8));
    sizes.put(name + ".tar", count);
    writer = null;
  }

  /** A sample's parquet row: what its {@code .json} says, its caption, its image's sha256. */
  static ShardParquet.Row rowOf(WdsSample sample) {
    JsonObject json = new JsonObject();
    byte[] meta = sample.members().get("json");
    if (meta != null) {
      try {
        JsonElement parsed = JsonParser.parseString(new String(meta, StandardCharsets.UTF_8));
        if (parsed.isJsonObject()) {
          json = parsed.getAsJsonObject();
        }
      } catch (RuntimeException notJson) {
        // the row keeps what the sample itself says
      }
    }
    String sha256 =
        sample.image().map(e -> HexFormat.of().formatHex(sha256(e.getValue()))).orElse(null);
    return new ShardParquet.Row(
        text(json, "url"),
        sample.caption().orElse(null),
        sample.key(),
        json.has("status") ? text(json, "status") : "success",
        text(json, "error_message"),
        number(json, "width"),
        number(json, "height"),
        number(json, "original_width"),
        number(json, "original_height"),
        sha256);
  }

  private static String text(JsonObject json, String field) {
    JsonElement v = json.get(field);
    return v != null && v.isJsonPrimitive() ? v.getAsString() : null;
  }

  private static Integer number(JsonObject json, String field) {
    JsonElement v = json.get(field);
    return v != null && v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber()
        ? v.getAsInt()
        : null;
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Number of samples written so far. */
  public long total() {
    return total;
  }

  /** The brace pattern naming every shard written, e.g. {@code s3://b/p/{00000..00003}.tar}. */
  public String shardPattern() {
    int last = Math.max(0, shardIndex - 1);
    return folder.resolve(String.format("{00000..%05d}.tar", last)).toString();
  }

  public Map<String, Long> sizes() {
    return sizes;
  }

  @Override
  public void close() {
    try {
      flush();
    } catch (IOException e) {
      throw new UncheckedIOException("writing the last shard for " + folder, e);
    }
    store.put(folder.resolve("sizes.json"), GSON.toJson(sizes).getBytes(StandardCharsets.UTF_8));
  }
}
