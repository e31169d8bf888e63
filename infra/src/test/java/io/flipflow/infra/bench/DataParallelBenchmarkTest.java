package io.flipflow.infra.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.activities.engine.NativeTorch;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A smoke run of the data-parallel benchmark's mechanics (ranks as JVMs, rendezvous, the RESULT
 * line, the table) on a micro preset; the figures are not asserted.
 */
class DataParallelBenchmarkTest {

  @Test
  void oneRankAndTwoRanksEachGiveARowRelativeToOneRank(@TempDir Path dir) throws Exception {
    boolean available = NativeTorch.isAvailable();
    if (!available) {
      System.out.println(
          "SKIPPED (native extension unavailable): " + NativeTorch.unavailableReason());
    }
    Assumptions.assumeTrue(available, NativeTorch::unavailableReason);
    Assumptions.assumeTrue(
        Runtime.getRuntime().availableProcessors() % 2 == 0, "two ranks need an even core count");
    Path preset = MaskingBenchmarkTest.microPreset(dir);
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    List<DataParallelBenchmark.Result> results =
        DataParallelBenchmark.run(
            preset.toString(), 8, 0.5, new int[] {1, 2}, 1, 3, 1, new PrintStream(text));
    assertEquals(2, results.size(), text.toString());
    assertEquals(1.0, results.get(0).efficiency(), 1e-12);
    assertEquals(0.0, results.get(0).collectiveMillisPerStep(), "one rank has no collectives");
    assertTrue(results.get(1).collectiveMillisPerStep() > 0, results.get(1).toString());
    assertTrue(results.get(1).samplesPerSecond() > 0, results.get(1).toString());
    assertTrue(text.toString().contains("efficiency"), text.toString());
  }

  @Test
  void aWorldSizeThatDoesNotSplitTheBatchOrTheCoresIsNamed() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                DataParallelBenchmark.run(
                    "tiny-emoji", 8, 0.5, new int[] {1, 3}, 1, 3, 1, System.out));
    assertTrue(e.getMessage().startsWith("--ranks: 3 must divide"), e.getMessage());
  }
}
