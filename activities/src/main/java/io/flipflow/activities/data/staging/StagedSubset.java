package io.flipflow.activities.data.staging;

/**
 * The data-size axis's subsets of a staged set: a fixed pseudo-random subset of {@code limit}
 * samples, chosen by a hash of each sample's place in the set and not by a run's seed, so every run
 * with the same limit trains on the same samples and a smaller subset lies inside every larger one
 * (as the paper's smaller data sets are subsets of the larger).
 */
final class StagedSubset {
  private StagedSubset() {}

  /**
   * The {@code limit} samples with the smallest hash of (shard, record), as one bit set per shard:
   * deterministic, independent of the seed, and nested (the samples of a smaller limit are among
   * those of a larger one). {@code shardSamples[s]} is shard s's sample count.
   */
  static java.util.BitSet[] of(long[] shardSamples, long limit) {
    long total = java.util.Arrays.stream(shardSamples).sum();
    if (limit <= 0 || limit > total)
      throw new IllegalArgumentException("limit must be in [1, " + total + "], got " + limit);
    long[] keys = new long[Math.toIntExact(total)];
    int n = 0;
    for (int s = 0; s < shardSamples.length; s++) {
      for (long i = 0; i < shardSamples[s]; i++) keys[n++] = sampleHash(s, i);
    }
    long[] sorted = keys.clone();
    java.util.Arrays.sort(sorted);
    long threshold = sorted[(int) limit - 1];
    java.util.BitSet[] subset = new java.util.BitSet[shardSamples.length];
    long taken = 0;
    n = 0;
    for (int s = 0; s < subset.length; s++) {
      subset[s] = new java.util.BitSet();
      for (int i = 0; i < shardSamples[s]; i++) {
        // ties at the threshold (64-bit hashes: practically never) are taken in order up to limit
        if (keys[n++] <= threshold && taken < limit) {
          subset[s].set(i);
          taken++;
        }
      }
    }
    return subset;
  }

  /** SplitMix64's finaliser over the sample's place: a fixed, well-mixed order of the set. */
  static long sampleHash(int shard, long record) {
    long z = (((long) shard << 32) | record) + 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
