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
    long failedDownloads) {

  public static final int FORMAT_VERSION = 1;

  /** A manifest from before {@code failedDownloads} existed (it reads as 0). */
  public StagedManifest(
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
      List<String> sources) {
    this(
        formatVersion,
        contentKey,
        root,
        samples,
        badSamples,
        shards,
        tokenizer,
        tokenizerSha256,
        vocabSize,
        resolution,
        contextLength,
        sources,
        0);
  }

  public record Shard(String uri, long samples, long bytes, String etag) {}

  public int pixelBytes() {
    return 3 * resolution * resolution;
  }

  public int recordBytes() {
    return pixelBytes() + 4 * contextLength;
  }
}
