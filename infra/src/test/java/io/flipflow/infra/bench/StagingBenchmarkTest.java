package io.flipflow.infra.bench;

import static org.junit.jupiter.api.Assertions.*;

import io.flipflow.activities.data.Fixtures;
import io.flipflow.activities.data.emoji.EmojiImporter;
import io.flipflow.activities.data.npm.NpmPackages;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.testing.S3Fixture;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark in smoke mode (figures are printed, never asserted as timings). */
class StagingBenchmarkTest {
  @TempDir Path work;

  @Test
  void smokeRunOnGeneratedShardsGivesEveryFigure() throws Exception {
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store()) {
      store.createBucket("bench");
      S3Uri b = S3Uri.parse("s3://bench/");
      Fixtures.writeShards(store, b.resolve("wds"), 3, 8);
      store.put(
          b.resolve("tokenizer.json"),
          WordLevelVocabulary.build(
              Fixtures.COLOURS.stream().map(c -> "a " + c + " square").toList()));
      var o =
          new StagingBenchmark.Options(
              b + "wds/{00000..00002}.tar",
              b.resolve("tokenizer.json"),
              b.resolve("scratch"),
              8,
              6,
              2,
              1,
              4,
              10,
              work,
              Path.of("/usr/bin/aws"));
      var f = StagingBenchmark.run(s3.settings(), o);
      System.out.println(f.format());
      assertEquals(3, f.shards());
      assertEquals(24, f.samples());
      assertTrue(f.downloadMBps() > 0 && f.stagingSamplesPerSec() > 0);
      assertTrue(f.readerBatchesPerSec() > 0);
      if (Files.isExecutable(Path.of("/usr/bin/aws")))
        assertTrue(f.awsCpMBps() > 0, "aws s3 cp measured: " + f.awsNote());
      else System.out.println("no /usr/bin/aws (apt-get install awscli): aws s3 cp not measured");
    }
  }

  /** The figures the report quotes: the google emoji import on the embedded s3proxy. */
  @Test
  void googleEmojiImport() throws Exception {
    NpmPackages npm = NpmPackages.defaultCache();
    boolean cached =
        npm.isCached("emoji-datasource-google@16.0.0") && npm.isCached(NpmPackages.EMOJIBASE_DATA);
    if (!cached)
      System.out.println(
          "skipping the staging benchmark on real emoji: packages not in " + npm.cacheDir());
    Assumptions.assumeTrue(cached, "emoji npm packages not cached");
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store()) {
      store.createBucket("emoji");
      var r =
          new EmojiImporter(store, 500)
              .importStyle(
                  "google",
                  EmojiImporter.Sources.fetch(npm, "google"),
                  S3Uri.parse("s3://emoji/google"));
      var o =
          StagingBenchmark.Options.defaults(
              r.trainShards(), r.tokenizer(), S3Uri.parse("s3://emoji/bench-staged"), work);
      var f = StagingBenchmark.run(s3.settings(), o);
      System.out.println(f.format());
      assertEquals(r.trainSamples(), f.samples());
    }
  }
}
