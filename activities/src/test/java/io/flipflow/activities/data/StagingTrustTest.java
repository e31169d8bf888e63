package io.flipflow.activities.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.StageData;
import io.flipflow.activities.data.staging.StagedDataReader;
import io.flipflow.activities.data.staging.StagedManifest;
import io.flipflow.activities.data.staging.StagingLimits;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.data.webdataset.WdsSample;
import io.flipflow.activities.testing.S3Fixture;
import io.flipflow.db.Locks;
import io.flipflow.db.PostgresFixture;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a broken or hostile data set can do to staging, and what it may not (issue 14). */
class StagingTrustTest {
  static S3Fixture s3;
  static S3Store store;
  static int buckets;
  @TempDir Path work;

  @BeforeAll
  static void start() {
    s3 = S3Fixture.start();
    store = s3.store();
  }

  @AfterAll
  static void stop() throws Exception {
    store.close();
    s3.close();
  }

  static S3Uri bucket() {
    String b = "trust" + (++buckets);
    store.createBucket(b);
    S3Uri root = S3Uri.parse("s3://" + b + "/");
    List<String> texts = new ArrayList<>();
    Fixtures.COLOURS.forEach(c -> texts.add("a " + c + " square"));
    store.put(root.resolve("tokenizer.json"), WordLevelVocabulary.build(texts));
    return root;
  }

  static StageData.Request request(S3Uri b, String source) {
    return StageData.Request.of(b + source, b.resolve("staged"), b.resolve("tokenizer.json"), 8, 6);
  }

  static class Recorder implements StageData.Listener {
    final List<StageData.DataIssue> issues = new CopyOnWriteArrayList<>();

    @Override
    public void issue(StageData.DataIssue issue) {
      issues.add(issue);
    }
  }

  static boolean published(S3Uri b) {
    return store.list(b.resolve("staged")).stream()
        .anyMatch(o -> o.uri().key().endsWith("manifest.json"));
  }

  @Test
  void lostShardsCountByTheSamplesTheyHeld() {
    S3Uri b = bucket();
    Fixtures.writeShards(store, b.resolve("wds"), 1, 200); // 00000.tar: 200 good samples
    byte[] noise = new byte[64 << 10];
    new Random(7).nextBytes(noise);
    store.put(b.resolve("wds/00001.tar"), noise); // not a tar at all
    store.put(b.resolve("wds/sizes.json"), "{\"00001.tar\": 200}".getBytes());
    List<WdsSample> many = new ArrayList<>();
    for (int i = 0; i < 20; i++) many.add(Fixtures.sample("m" + i, "green"));
    byte[] whole = Fixtures.tar(many);
    store.put(b.resolve("wds/00002.tar"), Arrays.copyOf(whole, whole.length / 2)); // cut
    store.put(b.resolve("wds/00002_stats.json"), "{\"successes\": 4000}".getBytes());

    Recorder rec = new Recorder();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new StageData(store, work).stage(request(b, "wds/"), rec));
    String m = e.getMessage();
    assertTrue(m.contains("2 lost shard(s) (limit 0)"), m);
    assertTrue(m.contains("nothing was published"), m);
    assertTrue(!published(b), "a set that lost shards is never published as complete");
    long lostIssues = rec.issues.stream().filter(i -> i.reason().startsWith("shard lost")).count();
    assertTrue(lostIssues >= 2, rec.issues.toString());
    assertTrue(
        rec.issues.stream().anyMatch(i -> i.reason().contains("of the 4000 its source lists")),
        rec.issues.toString());

    // allowed to lose them, the manifest still says how much was lost: about 200 + 4000 - read
    StageData.Request lenient =
        request(b, "wds/")
            .withLimits(new StagingLimits(64L << 20, 64L << 20, 32 << 10, 10, 0.99, 2));
    StagedManifest set = new StageData(store, work).stage(lenient, new Recorder());
    assertTrue(set.samples() >= 200 && set.samples() < 220, "" + set.samples());
    assertEquals(200 + 4000 - (set.samples() - 200), set.badSamples());
  }

  @Test
  void sizesAHostileFileCanDeclareAreBoundedBeforeAnythingIsAllocated() {
    S3Uri b = bucket();
    List<WdsSample> samples = new ArrayList<>();
    for (int i = 0; i < 40; i++) samples.add(Fixtures.sample(String.format("ok%03d", i), "red"));
    samples.add(Fixtures.member("bomb", Fixtures.pngHeaderOnly(20000, 20000), "a red square"));
    samples.add(Fixtures.member("huge", noisePng(96, 96), "a red square"));
    samples.add(
        Fixtures.member(
            "longcap", Fixtures.png(4, 4, java.awt.Color.RED), "a red square ".repeat(40)));
    store.put(b.resolve("wds/00000.tar"), Fixtures.tar(samples));
    Recorder rec = new Recorder();
    // members up to 20 KB, captions up to 200 bytes: the noise PNG and the long caption are over
    StageData.Request req =
        request(b, "wds/00000.tar")
            .withLimits(new StagingLimits(64L << 20, 20_000, 200, 10, 0.1, 0));
    long before = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
    StagedManifest m = new StageData(store, work).stage(req, rec);
    long after = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
    assertEquals(40, m.samples());
    assertEquals(3, m.badSamples());
    Map<String, String> byKey = new LinkedHashMap<>();
    rec.issues.forEach(i -> byKey.put(i.key(), i.reason()));
    assertTrue(
        byKey.get("bomb").contains("image is 20000 x 20000 = 400000000 pixels, over the limit"),
        byKey.toString());
    assertTrue(byKey.get("huge").contains("over the 20000-byte limit"), byKey.toString());
    assertTrue(byKey.get("longcap").contains("over the 200-byte limit"), byKey.toString());
    assertTrue(after - before < (512L << 20), "no 1.5 GiB raster was allocated");

    for (int i = 1; i < 5; i++) {
      Fixtures.writeShards(store, b.resolve("many"), 5, 1);
    }
    StageData.Request tooMany =
        request(b, "many/{00000..00004}.tar")
            .withLimits(new StagingLimits(64L << 20, 64L << 20, 32 << 10, 3, 0.01, 0));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new StageData(store, work).stage(tooMany, new Recorder()));
    assertTrue(e.getMessage().contains("over the limit of 3 (staging.max_shards)"), e.getMessage());
  }

  @Test
  void concurrentStagingsOfOneSetAreSafeAndAgree() throws Exception {
    try (PostgresFixture pg = PostgresFixture.start()) {
      Locks locks = pg.database().locks();
      for (int round = 0; round < 3; round++) {
        S3Uri b = bucket();
        Fixtures.writeShards(store, b.resolve("wds"), 6, 12);
        StageData.Request req = request(b, "wds/");
        ExecutorService two = Executors.newFixedThreadPool(2);
        List<Future<StagedManifest>> runs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
          runs.add(
              two.submit(
                  () ->
                      new StageData(store, work) // the same worker folder, as two pipelines
                          .stage(req, lockingListener(locks))));
        }
        StagedManifest a = runs.get(0).get();
        StagedManifest c = runs.get(1).get();
        two.shutdown();
        assertEquals(a, c, "both pipelines use the one staged set");
        assertEquals(72, a.samples());
        assertEverySampleIsWhole(a);
      }
    }
  }

  @Test
  void aCancelledStagingStopsBetweenShardsAndPublishesNothing() {
    S3Uri b = bucket();
    Fixtures.writeShards(store, b.resolve("wds"), 6, 4);
    StageData.Request req =
        new StageData.Request(
            b + "wds/",
            b.resolve("staged"),
            b.resolve("tokenizer.json"),
            8,
            6,
            StagingLimits.defaults(),
            1);
    int[] done = new int[1];
    StageData.Listener stopAfterTwo =
        new StageData.Listener() {
          @Override
          public void shardDone(int shardsDone, int total, long samples) {
            done[0] = shardsDone;
          }

          @Override
          public boolean stopRequested() {
            return done[0] >= 2;
          }
        };
    StageData.Cancelled c =
        assertThrows(
            StageData.Cancelled.class, () -> new StageData(store, work).stage(req, stopAfterTwo));
    assertTrue(c.getMessage().contains("stopped on request"), c.getMessage());
    assertEquals(2, done[0]);
    assertTrue(!published(b));
  }

  /** Waits for the set's lock as the staging activity does. */
  static StageData.Listener lockingListener(Locks locks) {
    return new StageData.Listener() {
      @Override
      public AutoCloseable exclusive(String contentKey) throws Exception {
        while (true) {
          Optional<Locks.Lock> lock = locks.tryLock("test-staging:" + contentKey);
          if (lock.isPresent()) {
            return lock.get();
          }
          Thread.sleep(50);
        }
      }
    };
  }

  /** Every staged record: the pixels of its colour and the tokens of its caption. */
  static void assertEverySampleIsWhole(StagedManifest m) throws Exception {
    try (CaptionTokenizer tok =
            CaptionTokenizer.load(
                store.getBytes(S3Uri.parse(m.tokenizer())), m.contextLength(), "t");
        StagedDataReader reader =
            new StagedDataReader(
                store, m, Path.of(m.contentKey() + "-check").toAbsolutePath(), 1, 0, 1, 1)) {
      int px = 3 * m.resolution() * m.resolution();
      for (int i = 0; i < m.samples(); i++) {
        StagedDataReader.RawBatch one = reader.next();
        String colour =
            Fixtures.COLOURS.stream()
                .filter(c -> Arrays.equals(tok.encode("a " + c + " square"), one.tokens()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("tokens of no caption"));
        java.awt.Color col = Fixtures.colour(colour);
        for (int p = 0; p < m.resolution() * m.resolution(); p++) {
          if (one.pixels()[p] != (byte) col.getRed()
              || one.pixels()[px / 3 + p] != (byte) col.getGreen()
              || one.pixels()[2 * px / 3 + p] != (byte) col.getBlue()) {
            throw new AssertionError("torn record " + i + " of " + m.root());
          }
        }
      }
    }
  }

  static byte[] noisePng(int w, int h) {
    java.awt.image.BufferedImage img =
        new java.awt.image.BufferedImage(w, h, java.awt.image.BufferedImage.TYPE_INT_RGB);
    Random r = new Random(3);
    for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, r.nextInt());
    return Fixtures.encode(img, "png");
  }
}
