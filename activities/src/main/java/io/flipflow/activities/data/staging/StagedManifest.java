package io.flipflow.activities.data.staging;

import java.util.List;

/**
 * {@code manifest.json} of a staged data set, written last (its presence means "staged"). Each
 * shard is a flat file of fixed-size records: {@code 3*resolution*resolution} uint8 pixels (CHW,
 * RGB) then {@code contextLength} int32 little-endian token ids.
 */
public record StagedManifest(
    int formatVersion,
    String contentKey,
    String root,
    long samples,
    long badSamples,
    List<Shard> shards,
    String tokenizer,
    String tokenizerSha256,
    int vocabSize,
    int resolution,
    int contextLength,
    List<String> sources,
    long failedDownloads) { // failedDownloads: 0 in manifests written before it existed (Gson)

  public static final int FORMAT_VERSION = 1;

  public record Shard(String uri, long samples, long bytes, String etag) {}

  public int pixelBytes() {
    return 3 * resolution * resolution;
  }

  public int recordBytes() {
    return pixelBytes() + 4 * contextLength;
  }
}
