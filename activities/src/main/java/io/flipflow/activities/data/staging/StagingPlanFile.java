package io.flipflow.activities.data.staging;

import java.util.List;

/**
 * {@code plan.json} of a staging under way: what every shard group needs to stage its part the same
 * way (tokenizer, resolution, context) and where its sources are listed. The source list is split
 * into chunk files of {@value #CHUNK} ({@code plan/sources-NNNNN.json}) so that a group reads a
 * chunk or two, not all 41,000 entries of a LAION-size set. Content-addressed like the staged set
 * it plans, so every planner writes the same bytes.
 */
public record StagingPlanFile(
    int formatVersion,
    String contentKey,
    String root,
    int shardCount,
    int chunkSize,
    String tokenizer,
    String tokenizerSha256,
    int vocabSize,
    int resolution,
    int contextLength,
    StagedManifest.Format format) {

  /** Sources per chunk file. */
  public static final int CHUNK = 1000;

  /** One raw shard as planned: staging checks it still has this size and ETag. */
  public record Source(String uri, long size, String etag) {}

  /** Plans written before the format existed stage raw records. */
  public StagedManifest.Format formatOrRaw() {
    return format == null ? StagedManifest.Format.RAW : format;
  }

  public static String chunkName(int chunk) {
    return String.format("plan/sources-%05d.json", chunk);
  }

  /** {@code groups/FIRST-END.json}: the summary of shards [first, end), written when staged. */
  public static String groupName(int firstShard, int endShard) {
    return String.format("groups/%05d-%05d.json", firstShard, endShard);
  }

  public List<Integer> chunksOf(int firstShard, int endShard) {
    return java.util.stream.IntStream.rangeClosed(
            firstShard / chunkSize, (endShard - 1) / chunkSize)
        .boxed()
        .toList();
  }
}
