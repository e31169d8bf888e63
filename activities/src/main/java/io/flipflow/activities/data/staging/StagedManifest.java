package io.flipflow.activities.data.staging;

import java.util.List;

/**
 * {@code manifest.json} of a staged data set, written last (its presence means "staged"). Each
 * shard is a flat file of records in the set's {@link Format}: raw, fixed-size records of {@code
 * 3*resolution*resolution} uint8 pixels (CHW, RGB) then {@code contextLength} int32 little-endian
 * token ids; or encoded ones, an int32 little-endian length, that many bytes of an encoded image,
 * then the tokens.
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
    long failedDownloads, // 0 in manifests written before it existed (Gson)
    Format format) { // null in manifests written before it existed: raw

  public static final int FORMAT_VERSION = 1;

  /**
   * How a staged record keeps its image. {@code RAW}: decoded pixels, read as they are (151 KB per
   * sample at 224 px; for small sets where decoding would cost the engine time). {@code ENCODED}:
   * the source's bytes when the image is at or under the resolution, else the preprocessed image
   * re-encoded (PNG, lossless, for PNG sources, which are mostly graphics; JPEG at quality 0.95 for
   * photographs), decoded by the reader's pool ahead of the engine.
   */
  public enum Format {
    RAW,
    ENCODED
  }

  /** What the workflows are told of this set: references and counts. */
  public io.flipflow.workflows.result.StagedDataset asDataset() {
    return new io.flipflow.workflows.result.StagedDataset(
        io.flipflow.activities.data.s3.S3Uri.parse(root).resolve("manifest.json").toString(),
        samples,
        resolution,
        contextLength,
        vocabSize,
        tokenizer);
  }

  public Format formatOrRaw() {
    return format == null ? Format.RAW : format;
  }

  public record Shard(String uri, long samples, long bytes, String etag) {}

  public int pixelBytes() {
    return 3 * resolution * resolution;
  }

  /** Bytes of one raw record; encoded records vary. */
  public int recordBytes() {
    return pixelBytes() + 4 * contextLength;
  }
}
