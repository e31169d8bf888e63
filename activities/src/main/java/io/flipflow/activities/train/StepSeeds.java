package io.flipflow.activities.train;

/**
 * The engine seeds of a run, functions of its seed alone: one for the initial weights, and one per
 * step derived from (seed, step), so the mask noise of step s is the same whether or not the run
 * was interrupted before it. That replaces saving the engine's generator state, which DJL cannot
 * serialise.
 */
public final class StepSeeds {
  private StepSeeds() {}

  /** The engine seed the initial weights are drawn with. */
  public static int init(long seed) {
    return (int) splitMix64(seed);
  }

  /** The engine seed of step {@code step}: a hash of (seed, step), independent of history. */
  public static int step(long seed, long step) {
    return (int) splitMix64(splitMix64(seed) + step);
  }

  /**
   * The seed of global row {@code row} of step {@code step}'s batch, for noise drawn per row (text
   * masks of a batch assembled from data streams), whichever rank holds the row.
   */
  public static long row(long seed, long step, long row) {
    return splitMix64(splitMix64(splitMix64(seed) + step) + row);
  }

  private static long splitMix64(long x) {
    long z = x + 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
