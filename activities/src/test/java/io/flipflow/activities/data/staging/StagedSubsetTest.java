package io.flipflow.activities.data.staging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import org.junit.jupiter.api.Test;

/** The data-size axis's subsets: exact size, nested, spread over the shards, and fixed. */
class StagedSubsetTest {

  private static final long[] SHARDS = {1000, 1000, 1000, 1000, 437};

  @Test
  void subsetsHaveTheLimitsSizeAndSmallerOnesNestInLarger() {
    BitSet[] previous = null;
    for (long limit : new long[] {4437, 3000, 1000, 100, 10, 1}) {
      BitSet[] subset = StagedSubset.of(SHARDS, limit);
      long size = 0;
      for (BitSet s : subset) size += s.cardinality();
      assertEquals(limit, size);
      if (previous != null) {
        for (int s = 0; s < subset.length; s++) {
          BitSet outside = (BitSet) subset[s].clone();
          outside.andNot(previous[s]);
          assertTrue(
              outside.isEmpty(), "limit " + limit + " takes samples the larger one left out");
        }
      }
      previous = subset;
    }
  }

  @Test
  void aSubsetIsSpreadOverEveryShardAndTheSameEachTime() {
    BitSet[] a = StagedSubset.of(SHARDS, 1000);
    BitSet[] b = StagedSubset.of(SHARDS, 1000);
    for (int s = 0; s < SHARDS.length; s++) {
      assertEquals(a[s], b[s]);
      // a first-N cut would take shard 0 only; a hash spreads in proportion (about 22.5% each)
      double share = a[s].cardinality() / (double) SHARDS[s];
      assertTrue(share > 0.17 && share < 0.29, "shard " + s + " share " + share);
      // and within a shard, not only its first records
      assertTrue(a[s].nextSetBit((int) SHARDS[s] / 2) >= 0, "shard " + s);
    }
  }

  @Test
  void aLimitOutsideTheSetIsRefusedByName() {
    var e = assertThrows(IllegalArgumentException.class, () -> StagedSubset.of(SHARDS, 5000));
    assertTrue(e.getMessage().contains("limit"), e.getMessage());
  }
}
