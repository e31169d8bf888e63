package io.flipflow.infra.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.StagedManifest;
import io.flipflow.activities.testing.S3Fixture;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fan-out benchmark in smoke mode: real worker JVMs, tiny synthetic set, no timing asserted.
 */
class StagingFanOutBenchmarkTest {
  @TempDir Path work;

  @Test
  void oneAndTwoWorkerProcessesStageTheWholeSyntheticSet() throws Exception {
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store()) {
      store.createBucket("bench");
      S3Uri root = S3Uri.parse("s3://bench/synthetic/");
      var o =
          new StagingFanOutBenchmark.Options(
              60, 32, 20, List.of(1, 2), 1, root, work, StagedManifest.Format.ENCODED);
      var f = StagingFanOutBenchmark.run(s3.settings(), o, work);
      System.out.println(f.toString());
      assertEquals(3, f.shards());
      for (var c : f.configurations()) {
        assertEquals(60, c.samples(), c + ": every generated sample staged");
        assertTrue(c.seconds() > 0, c.toString());
      }
      assertEquals(3 * 32 * 32 + 4 * 32, f.rawBytesPerSample());
      // the generated JPEGs are at the resolution, so each record keeps them as they are: less
      // than the tar that held them (headers) and than raw pixels
      assertTrue(f.stagedBytesPerSample() < (double) f.sourceBytes() / f.samples(), f.toString());
      assertTrue(f.stagedBytesPerSample() < f.rawBytesPerSample(), f.toString());
      assertTrue(f.readerSamplesPerSecond() > 0);
      // the staged copies are removed; the generated set stays for the next run
      assertEquals(
          List.of(),
          store.list(root).stream()
              .map(x -> x.uri().key())
              .filter(k -> k.contains("staged-"))
              .toList());
      assertTrue(store.exists(root.resolve("synthetic-32px-60-by-20/done.json")));
    }
  }
}
