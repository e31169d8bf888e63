package io.flipflow.activities.data.webdataset;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes samples as img2dataset lays them out in S3: {@code 00000.tar}, {@code 00001.tar}, ... each
 * with a {@code 00000_stats.json} beside it, and on close a {@code sizes.json} (shard name ->
 * sample count, what OpenCLIP reads for {@code --train-num-samples}). Shards are built in a local
 * temporary file and uploaded whole. (img2dataset's {@code .parquet} beside each shard is not
 * written: nothing here reads it.)
 */
public final class ShardSink implements AutoCloseable {
  private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

  private final S3Store store;
  private final S3Uri folder;
  private final int samplesPerShard;
  private final Map<String, Long> sizes = new LinkedHashMap<>();
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
