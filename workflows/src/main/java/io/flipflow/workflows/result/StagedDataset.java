package io.flipflow.workflows.result;

/**
 * Training-ready shards in S3, as written by the staging activity.
 *
 * @param manifestUri S3 URI of the staged manifest (shard list, tokenizer, resolution)
 * @param sampleCount samples usable for training, after skipped ones
 * @param resolution image side in pixels the shards were resized to
 * @param contextLength tokens per caption, padded or truncated
 * @param vocabSize the tokenizer's vocabulary size, which the text tower needs
 * @param tokenizerUri the tokenizer.json the captions were tokenized with, which evaluation uses
 *     too; null in results recorded before the field existed
 */
public record StagedDataset(
    String manifestUri,
    long sampleCount,
    int resolution,
    int contextLength,
    int vocabSize,
    String tokenizerUri) {}
