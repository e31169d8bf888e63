package io.flipflow.activities.data.staging;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Random;

/**
 * The order one stream of a staged set's samples comes in, as a pure function of (seed, position):
 * windows of {@code windowShards} of its shards, the samples of a window shuffled together
 * (WebDataset's shuffle buffer, bounded so a window's shards suffice on disk). A set is read as one
 * stream over all its shards or as several over disjoint shares ({@link #streams}).
 *
 * <ul>
 *   <li>{@link ShardSampling#SHUFFLED}: epoch {@code e} visits every shard once, in a seeded
 *       permutation of its own, cut into windows; an epoch is the set (or the sample limit's
 *       subset).
 *   <li>{@link ShardSampling#RESAMPLED}: window {@code k} draws its shards uniformly with
 *       replacement (WebDataset's {@code resampled=True}, OpenCLIP's {@code --dataset-resampled}):
 *       there are no epochs, a shard may come twice, and how far a run gets is independent of the
 *       set's size.
 * </ul>
 */
final class ShardWindows {

  /**
   * One window: its first position in the stream, its samples as {@code shard << 32 | record} in
   * the order they stream, its distinct shards, and the next window's (to fetch ahead).
   */
  record Window(long start, long[] samples, int[] shards, int[] nextShards) {
    boolean holds(long position) {
      return position >= start && position < start + samples.length;
    }
  }

  private final ShardSampling sampling;
  private final long seed;
  private final int windowShards;
  private final int[] shardsInUse;
  private final int[] keptCount; // samples in use per shard (all of its samples, or the subset's)
  private final BitSet[] kept; // null: every sample
  private final long samplesPerEpoch;
  // RESAMPLED: where each window drawn so far starts; window k+1 starts where k ends
  private final List<Long> resampledStarts = new ArrayList<>(List.of(0L));

  /**
   * @param shardSamples samples of each staged shard
   * @param kept the samples in use per shard, or null for all of them
   * @param shards the shards this stream takes, each holding samples in use
   */
  ShardWindows(
      ShardSampling sampling,
      long seed,
      int windowShards,
      long[] shardSamples,
      BitSet[] kept,
      int[] shards) {
    this.sampling = sampling;
    this.seed = seed;
    this.windowShards = Math.max(1, windowShards);
    this.kept = kept;
    this.keptCount = keptCounts(shardSamples, kept);
    long total = 0;
    for (int s : shards) {
      if (keptCount[s] == 0) {
        throw new IllegalArgumentException("shard " + s + " has no samples in use");
      }
      total += keptCount[s];
    }
    if (total == 0) {
      throw new IllegalArgumentException("no samples to stream");
    }
    this.shardsInUse = shards.clone();
    this.samplesPerEpoch = total;
  }

  /**
   * The set as {@code streams} streams over disjoint shards: the shards holding samples in use,
   * dealt round-robin; one stream is the whole set with the seed as it is, as before streams
   * existed.
   */
  static ShardWindows[] streams(
      ShardSampling sampling,
      long seed,
      int windowShards,
      long[] shardSamples,
      BitSet[] kept,
      int streams) {
    int[] counts = keptCounts(shardSamples, kept);
    int[] inUse =
        java.util.stream.IntStream.range(0, counts.length).filter(s -> counts[s] > 0).toArray();
    if (streams < 1 || streams > inUse.length) {
      throw new IllegalArgumentException(
          "dataStreams: "
              + streams
              + " streams need as many shards with samples in use, the set has "
              + inUse.length);
    }
    ShardWindows[] out = new ShardWindows[streams];
    for (int l = 0; l < streams; l++) {
      int lane = l;
      int[] mine =
          java.util.stream.IntStream.range(0, inUse.length)
              .filter(i -> i % streams == lane)
              .map(i -> inUse[i])
              .toArray();
      long laneSeed = streams == 1 ? seed : seed + 0x632BE59BD9B4E019L * (l + 1);
      out[l] = new ShardWindows(sampling, laneSeed, windowShards, shardSamples, kept, mine);
    }
    return out;
  }

  private static int[] keptCounts(long[] shardSamples, BitSet[] kept) {
    int[] counts = new int[shardSamples.length];
    for (int s = 0; s < shardSamples.length; s++) {
      counts[s] = kept == null ? (int) shardSamples[s] : kept[s].cardinality();
    }
    return counts;
  }

  /** Samples one shuffled epoch visits (for resampled streams, the set's size all the same). */
  long samplesPerEpoch() {
    return samplesPerEpoch;
  }

  /** The window holding stream position {@code position}. */
  Window at(long position) {
    return sampling == ShardSampling.SHUFFLED ? shuffledAt(position) : resampledAt(position);
  }

  private Window shuffledAt(long position) {
    long epoch = position / samplesPerEpoch;
    long inEpoch = position % samplesPerEpoch;
    int[] order = epochOrder(epoch);
    long start = 0;
    for (int w = 0; w < order.length; w += windowShards) {
      int[] shards = Arrays.copyOfRange(order, w, Math.min(order.length, w + windowShards));
      long size = samplesOf(shards);
      if (inEpoch < start + size) {
        int[] next =
            w + windowShards < order.length
                ? Arrays.copyOfRange(
                    order, w + windowShards, Math.min(order.length, w + 2 * windowShards))
                : Arrays.copyOf(epochOrder(epoch + 1), Math.min(order.length, windowShards));
        // the same stream as before resampling existed, so runs resume where they left off
        long[] samples = shuffle(samplesOf(shards, size), seed * 1_000_003L + epoch * 7919L + w);
        return new Window(epoch * samplesPerEpoch + start, samples, shards, next);
      }
      start += size;
    }
    throw new IllegalStateException("position " + position + " beyond its epoch");
  }

  private Window resampledAt(long position) {
    while (resampledStarts.get(resampledStarts.size() - 1) <= position) {
      int k = resampledStarts.size() - 1;
      resampledStarts.add(resampledStarts.get(k) + samplesOf(resampledShards(k)));
    }
    int found = java.util.Collections.binarySearch(resampledStarts, position);
    int k = found >= 0 ? found : -found - 2; // the last window starting at or before position
    int[] shards = resampledShards(k);
    long[] samples =
        shuffle(samplesOf(shards, samplesOf(shards)), seed * 1_000_003L - 7919L * (k + 1));
    return new Window(
        resampledStarts.get(k), samples, distinct(shards), distinct(resampledShards(k + 1)));
  }

  /** Window {@code k}'s draws: {@code windowShards} shards in use, with replacement. */
  private int[] resampledShards(long k) {
    Random random = new Random(seed ^ 0x5DEECE66DL * (k + 1) ^ 0x7F4A7C159E3779B9L);
    int[] shards = new int[windowShards];
    for (int i = 0; i < shards.length; i++) {
      shards[i] = shardsInUse[random.nextInt(shardsInUse.length)];
    }
    return shards;
  }

  private int[] epochOrder(long epoch) {
    List<Integer> order = new ArrayList<>(shardsInUse.length);
    for (int s : shardsInUse) {
      order.add(s);
    }
    java.util.Collections.shuffle(order, new Random(seed ^ (epoch * 0x9E3779B97F4A7C15L)));
    return order.stream().mapToInt(Integer::intValue).toArray();
  }

  private long samplesOf(int[] shards) {
    long n = 0;
    for (int s : shards) {
      n += keptCount[s];
    }
    return n;
  }

  /** The in-use samples of {@code shards}, in shard order (a repeated shard comes twice). */
  private long[] samplesOf(int[] shards, long size) {
    long[] refs = new long[Math.toIntExact(size)];
    int n = 0;
    for (int s : shards) {
      int records = kept == null ? keptCount[s] : kept[s].length();
      for (int i = 0; i < records; i++) {
        if (kept == null || kept[s].get(i)) {
          refs[n++] = ((long) s << 32) | i;
        }
      }
    }
    return refs;
  }

  /**
   * {@link java.util.Collections#shuffle(List, Random)}'s swaps on a primitive array: the same
   * permutation for the same seed, without boxing a window of samples.
   */
  private static long[] shuffle(long[] a, long seed) {
    Random random = new Random(seed);
    for (int i = a.length; i > 1; i--) {
      int j = random.nextInt(i);
      long t = a[i - 1];
      a[i - 1] = a[j];
      a[j] = t;
    }
    return a;
  }

  private static int[] distinct(int[] shards) {
    return Arrays.stream(shards).distinct().toArray();
  }
}
