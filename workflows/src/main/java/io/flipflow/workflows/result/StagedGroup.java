package io.flipflow.workflows.result;

/**
 * What one shard group staged, in counts; the shards themselves are in S3.
 *
 * @param samples samples staged
 * @param badSamples samples skipped as bad
 * @param lostShards shards lost whole or in part (unreadable, truncated, checksum)
 * @param failedDownloads samples img2dataset says it could not download (skipped, not bad)
 */
public record StagedGroup(
    int firstShard,
    int endShard,
    long samples,
    long badSamples,
    int lostShards,
    long failedDownloads) {}
