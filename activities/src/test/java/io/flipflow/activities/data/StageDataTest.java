package io.flipflow.activities.data;

import static org.junit.jupiter.api.Assertions.*;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.ShardSampling;
import io.flipflow.activities.data.staging.StageData;
import io.flipflow.activities.data.staging.StagedCache;
import io.flipflow.activities.data.staging.StagedDataReader;
import io.flipflow.activities.data.staging.StagedManifest;
import io.flipflow.activities.data.staging.StagingLimits;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.data.webdataset.WdsSample;
import io.flipflow.activities.testing.S3Fixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StageDataTest {
  static S3Fixture s3;
  static S3Store store;
  static int bucketCounter;
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

  static S3Uri freshBucket() {
    String b = "stage" + (++bucketCounter);
    store.createBucket(b);
    return S3Uri.parse("s3://" + b + "/");
  }

  static S3Uri tokenizer(S3Uri bucket) {
    S3Uri uri = bucket.resolve("tokenizer.json");
    List<String> texts = new ArrayList<>();
    Fixtures.COLOURS.forEach(c -> texts.add("a " + c + " square"));
    store.put(uri, WordLevelVocabulary.build(texts));
    return uri;
  }

  static class Recorder implements StageData.Listener {
    final List<StageData.DataIssue> issues = new CopyOnWriteArrayList<>();
    final List<Integer> done = new CopyOnWriteArrayList<>();

    @Override
    public void shardDone(int shardsDone, int total, long samples) {
      done.add(shardsDone);
    }

    @Override
    public void issue(StageData.DataIssue issue) {
      issues.add(issue);
    }
  }

  @Test
  void stagesDecodesTokenizesAndReusesTheStagedCopy() {
    S3Uri b = freshBucket();
    Fixtures.writeShards(store, b.resolve("wds"), 3, 10);
    var req =
        StageData.Request.of(b + "wds/{00000..00002}.tar", b.resolve("staged"), tokenizer(b), 8, 6);
    Recorder rec = new Recorder();
    long t0 = System.nanoTime();
    StagedManifest m = new StageData(store, work).stage(req, rec);
    long first = System.nanoTime() - t0;
    assertEquals(30, m.samples());
    assertEquals(3, m.shards().size());
    assertEquals(0, m.badSamples());
    assertEquals(4 + 6, m.vocabSize()); // 4 specials + a, square, 4 colours
    assertTrue(rec.issues.isEmpty());
    assertEquals(3, rec.done.size());
    for (var s : m.shards()) assertEquals(10L * m.recordBytes(), s.bytes());

    // second run: finds the manifest, writes nothing new
    int objects = store.list(b.resolve("staged")).size();
    t0 = System.nanoTime();
    StagedManifest again = new StageData(store, work).stage(req, new Recorder());
    long second = System.nanoTime() - t0;
    assertEquals(m, again);
    assertEquals(objects, store.list(b.resolve("staged")).size());
    System.out.printf(
        "staging 30 samples: %.0f ms; re-stage (reuse): %.0f ms%n", first / 1e6, second / 1e6);

    // a prefix names the same shards, so the same content address
    var byPrefix = StageData.Request.of(b + "wds/", b.resolve("staged"), req.tokenizer(), 8, 6);
    assertEquals(
        m.contentKey(), new StageData(store, work).stage(byPrefix, new Recorder()).contentKey());
    // a different resolution is a different staged set
    var other = StageData.Request.of(b + "wds/", b.resolve("staged"), req.tokenizer(), 4, 6);
    assertNotEquals(
        m.contentKey(), new StageData(store, work).stage(other, new Recorder()).contentKey());

    // the reader: pixels are the colours, tokens follow the contract, resume is exact
    try (CaptionTokenizer tok = CaptionTokenizer.load(store.getBytes(req.tokenizer()), 6, "t")) {
      try (var reader = new StagedDataReader(store, m, work.resolve("cache"), 7, 42, 2, 2)) {
        List<StagedDataReader.RawBatch> batches = new ArrayList<>();
        for (int i = 0; i < 6; i++) batches.add(reader.next()); // 42 samples: crosses an epoch
        assertEquals(42, reader.position());
        int px = 3 * 8 * 8;
        for (var batch : batches) {
          for (int s = 0; s < batch.size(); s++) {
            int[] row = Arrays.copyOfRange(batch.tokens(), s * 6, s * 6 + 6);
            assertEquals(tok.sotId(), row[0]);
            assertEquals(tok.eotId(), row[4]);
            assertEquals(0, row[5]);
            String colour =
                Fixtures.COLOURS.stream()
                    .filter(c -> Arrays.equals(tok.encode("a " + c + " square"), row))
                    .findFirst()
                    .orElseThrow();
            var col = Fixtures.colour(colour);
            assertEquals((byte) col.getRed(), batch.pixels()[s * px]);
            assertEquals((byte) col.getGreen(), batch.pixels()[s * px + 64]);
            assertEquals((byte) col.getBlue(), batch.pixels()[s * px + 128]);
          }
        }
        // every sample once per epoch: the first 30 positions are a permutation
        reader.seek(0);
        List<String> epoch = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
          var one = new StagedDataReader(store, m, work.resolve("cache"), 1, 42, 2, 1);
          one.seek(i);
          var bt = one.next();
          epoch.add(Arrays.toString(bt.tokens()) + Arrays.hashCode(bt.pixels()));
          one.close();
        }
        reader.seek(14);
        assertArrayEquals(batches.get(2).tokens(), reader.next().tokens());
        assertArrayEquals(
            batches.get(2).pixels(),
            Arrays.copyOf(batches.get(2).pixels(), batches.get(2).pixels().length));
        reader.seek(35);
        assertArrayEquals(batches.get(5).pixels(), reader.next().pixels());
        assertEquals(30, epoch.size());
      }
      // the data-size axis: 12 of the 30 samples, the same 12 in every epoch
      try (var limited =
          new StagedDataReader(
              store,
              m,
              StagedCache.unbounded(work.resolve("cache")),
              4,
              42,
              new StagedDataReader.Options(2, 2, 2, 12, ShardSampling.SHUFFLED, 0, 1, 1))) {
        assertEquals(12, limited.samplesInUse());
        List<String> epochOne = new ArrayList<>();
        List<String> epochTwo = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
          var bt = limited.next();
          for (int s = 0; s < bt.size(); s++) {
            String sample =
                Arrays.toString(Arrays.copyOfRange(bt.tokens(), s * 6, s * 6 + 6))
                    + bt.pixels()[s * 3 * 8 * 8];
            (i < 3 ? epochOne : epochTwo).add(sample);
          }
        }
        assertEquals(2, limited.epoch());
        epochOne.sort(null);
        epochTwo.sort(null);
        assertEquals(epochOne, epochTwo);
      }
    }
  }

  /**
   * The fan-out's steps as two workers run them: the plan, the groups in any order on either, and
   * one publish, give the very set that one process stages; publishing early is refused.
   */
  @Test
  void groupsStagedOutOfOrderByTwoWorkersPublishTheSameSetAsOneProcess() {
    S3Uri b = freshBucket();
    Fixtures.writeShards(store, b.resolve("wds"), 5, 4);
    var req = StageData.Request.of(b + "wds/", b.resolve("staged"), tokenizer(b), 8, 6);
    StageData one = new StageData(store, work.resolve("w1"));
    StageData two = new StageData(store, work.resolve("w2"));
    StageData.Planned planned = one.plan(req, new Recorder());
    assertTrue(planned.published().isEmpty());
    assertEquals(5, planned.plan().shardCount());
    java.util.function.BiFunction<Integer, Integer, StageData.GroupRequest> group =
        (first, end) ->
            new StageData.GroupRequest(
                planned.planUri(), req.source(), first, end, req.limits(), 2);
    Recorder progress = new Recorder();
    two.stageGroup(group.apply(4, 5), progress);
    one.stageGroup(group.apply(0, 2), progress);
    var early =
        assertThrows(
            IllegalStateException.class,
            () -> one.publish(planned.planUri(), req.source(), 2, req.limits(), new Recorder()));
    assertTrue(early.getMessage().contains("groups/00002-00004.json"), early.getMessage());
    two.stageGroup(group.apply(2, 4), progress);
    StagedManifest fanned =
        two.publish(planned.planUri(), req.source(), 2, req.limits(), new Recorder());

    var single = StageData.Request.of(b + "wds/", b.resolve("single"), req.tokenizer(), 8, 6);
    StagedManifest alone = new StageData(store, work.resolve("w3")).stage(single, new Recorder());
    assertEquals(alone.contentKey(), fanned.contentKey());
    assertEquals(20, fanned.samples());
    assertEquals(alone.sources(), fanned.sources());
    assertEquals(
        alone.shards().stream().map(s -> s.bytes() + " " + s.etag()).toList(),
        fanned.shards().stream().map(s -> s.bytes() + " " + s.etag()).toList(),
        "the same records, in the same shard order");
    // a staged group is reused, not staged again
    int objects = store.list(b.resolve("staged")).size();
    assertEquals(
        2, one.stageGroup(group.apply(2, 4), new Recorder()).shards().size(), "reused group");
    assertEquals(objects, store.list(b.resolve("staged")).size());
    assertEquals(fanned, one.stage(req, new Recorder()), "published: returned as it is");
  }

  /** A group that loses more shards than the limits allow fails at once, naming them. */
  @Test
  void aGroupLosingTooManyShardsFailsAtOnceAndNothingIsPublished() {
    S3Uri b = freshBucket();
    Fixtures.writeShards(store, b.resolve("wds"), 4, 3);
    byte[] whole = store.getBytes(b.resolve("wds/00003.tar"));
    store.put(b.resolve("wds/00003.tar"), Arrays.copyOf(whole, 1536 + 700));
    var req = StageData.Request.of(b + "wds/", b.resolve("staged"), tokenizer(b), 8, 6);
    StageData stager = new StageData(store, work);
    StageData.Planned planned = stager.plan(req, new Recorder());
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                stager.stageGroup(
                    new StageData.GroupRequest(
                        planned.planUri(), req.source(), 2, 4, req.limits(), 1),
                    new Recorder()));
    assertTrue(e.getMessage().contains("wds/ shards 2-3"), e.getMessage());
    assertTrue(e.getMessage().contains("1 lost shard(s) (limit 0)"), e.getMessage());
    assertTrue(e.getMessage().contains("00003.tar"), e.getMessage());
    assertFalse(store.exists(S3Uri.parse(planned.plan().root()).resolve("manifest.json")));
  }

  /**
   * The encoded format trains on the very pixels raw records hold, in fewer bytes: source PNGs at
   * or under the resolution are kept as they are, larger ones re-encoded losslessly; JPEGs are
   * re-encoded at quality 0.95, so they come back close, not equal.
   */
  @Test
  void encodedRecordsGiveTheRawPixelsInFewerBytes() throws Exception {
    S3Uri b = freshBucket();
    Fixtures.writeShards(store, b.resolve("wds"), 2, 6); // flat 16 x 12 PNGs
    List<WdsSample> noisy = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      noisy.add(
          new WdsSample(
              "noise" + i,
              Map.of("png", StagingTrustTest.noisePng(40, 30), "txt", "a red square".getBytes())));
    }
    store.put(b.resolve("wds/00002.tar"), Fixtures.tar(noisy));
    S3Uri tok = tokenizer(b);
    for (int resolution : List.of(16, 8)) {
      var raw = StageData.Request.of(b + "wds/", b.resolve("staged"), tok, resolution, 6);
      var encoded = raw.withFormat(StagedManifest.Format.ENCODED);
      StagedManifest r = new StageData(store, work).stage(raw, new Recorder());
      StagedManifest e = new StageData(store, work).stage(encoded, new Recorder());
      assertNotEquals(r.contentKey(), e.contentKey(), "the format is part of the content key");
      assertEquals(StagedManifest.Format.ENCODED, e.format());
      assertEquals(r.samples(), e.samples());
      long rawBytes = r.shards().stream().mapToLong(StagedManifest.Shard::bytes).sum();
      long encodedBytes = e.shards().stream().mapToLong(StagedManifest.Shard::bytes).sum();
      System.out.printf(
          "%d px: raw %d B per sample, encoded %d B per sample%n",
          resolution, rawBytes / r.samples(), encodedBytes / e.samples());
      // the flat images compress; pure noise cannot (a noise PNG is larger than its pixels)
      for (int i = 0; i < 2; i++) {
        assertTrue(e.shards().get(i).bytes() < r.shards().get(i).bytes(), "shard " + i);
      }
      StagedDataReader.RawBatch fromRaw = readAll(r);
      StagedDataReader.RawBatch fromEncoded = readAll(e);
      assertArrayEquals(fromRaw.tokens(), fromEncoded.tokens());
      assertArrayEquals(fromRaw.pixels(), fromEncoded.pixels(), resolution + " px: same pixels");
    }

    // a JPEG over the resolution comes back within JPEG's error at quality 0.95
    S3Uri j = freshBucket();
    // a photograph-like image: smooth gradients and a shape (pure noise is JPEG's worst case)
    java.awt.image.BufferedImage photo =
        new java.awt.image.BufferedImage(96, 72, java.awt.image.BufferedImage.TYPE_INT_RGB);
    java.awt.Graphics2D g = photo.createGraphics();
    g.setPaint(
        new java.awt.GradientPaint(0, 0, java.awt.Color.ORANGE, 96, 72, java.awt.Color.BLUE));
    g.fillRect(0, 0, 96, 72);
    g.setColor(new java.awt.Color(30, 160, 60));
    g.fillOval(20, 12, 40, 36);
    g.dispose();
    store.put(
        j.resolve("wds/00000.tar"),
        Fixtures.tar(
            List.of(
                new WdsSample(
                    "photo",
                    Map.of(
                        "jpg", Fixtures.encode(photo, "jpg"), "txt", "a red square".getBytes())))));
    S3Uri jtok = tokenizer(j);
    var rawJpeg = StageData.Request.of(j + "wds/", j.resolve("staged"), jtok, 64, 6);
    byte[] a = readAll(new StageData(store, work).stage(rawJpeg, new Recorder())).pixels();
    byte[] c =
        readAll(
                new StageData(store, work)
                    .stage(rawJpeg.withFormat(StagedManifest.Format.ENCODED), new Recorder()))
            .pixels();
    double meanError = 0;
    for (int i = 0; i < a.length; i++) meanError += Math.abs((a[i] & 255) - (c[i] & 255));
    meanError /= a.length;
    System.out.printf("JPEG re-encoded at 0.95: mean absolute error %.2f of 255%n", meanError);
    assertTrue(meanError < 3, "mean absolute error " + meanError);
  }

  /** Every sample of a staged set in one batch, in the reader's order for seed 1. */
  private StagedDataReader.RawBatch readAll(StagedManifest m) {
    try (StagedDataReader reader =
        new StagedDataReader(store, m, work.resolve("cache"), (int) m.samples(), 1, 8, 2)) {
      return reader.next();
    }
  }

  @Test
  void resumesAfterTheLastFinishedShard() {
    S3Uri b = freshBucket();
    Fixtures.writeShards(store, b.resolve("wds"), 4, 5);
    var req =
        new StageData.Request(
            b + "wds/", b.resolve("staged"), tokenizer(b), 8, 6, StagingLimits.defaults(), 1);
    AtomicInteger downloads = new AtomicInteger();
    AtomicInteger failOn = new AtomicInteger(2); // the third shard fails once
    S3Store flaky =
        new S3Store(store.client()) {
          @Override
          public void download(S3Uri uri, Path target) {
            downloads.incrementAndGet();
            if (uri.key().endsWith(String.format("%05d.tar", failOn.get()))) {
              failOn.set(-1);
              throw new java.io.UncheckedIOException(
                  new java.io.IOException("connection reset (injected)"));
            }
            super.download(uri, target);
          }
        };
    // the SDK-level retries live inside S3Store.download; this failure is above them, so the
    // stage fails like an activity attempt would and nothing is marked staged
    var failure =
        assertThrows(
            java.io.UncheckedIOException.class,
            () -> new StageData(flaky, work).stage(req, new Recorder()));
    assertTrue(failure.getMessage().contains("wds/00002.tar"), "names the shard: " + failure);
    assertTrue(
        store.list(b.resolve("staged")).stream()
            .noneMatch(o -> o.uri().key().endsWith("manifest.json")));
    assertEquals(3, downloads.get());
    downloads.set(0);
    StagedManifest m = new StageData(flaky, work).stage(req, new Recorder());
    assertEquals(2, downloads.get(), "only the unfinished shards are downloaded again");
    assertEquals(20, m.samples());
  }

  @Test
  void badSamplesAreSkippedRecordedAndLimited() throws Exception {
    S3Uri b = freshBucket();
    List<WdsSample> samples = new ArrayList<>();
    for (int i = 0; i < 20; i++) samples.add(Fixtures.sample(String.format("good%03d", i), "red"));
    samples.add(
        new WdsSample(
            "corrupt", Map.of("png", "not a png".getBytes(), "txt", "a red square".getBytes())));
    samples.add(
        new WdsSample(
            "emptycap",
            Map.of("png", Fixtures.png(4, 4, java.awt.Color.RED), "txt", "  ".getBytes())));
    samples.add(new WdsSample("nocap", Map.of("png", Fixtures.png(4, 4, java.awt.Color.RED))));
    samples.add(
        new WdsSample(
            "noimage", Map.of("txt", "a red square".getBytes(), "json", "{}".getBytes())));
    store.put(b.resolve("wds/00000.tar"), Fixtures.tar(samples));
    byte[] whole =
        Fixtures.tar(
            List.of(
                Fixtures.sample("t0", "blue"),
                Fixtures.sample("t1", "blue"),
                Fixtures.sample("t2", "blue")));
    store.put(
        b.resolve("wds/00001.tar"),
        Arrays.copyOf(whole, 1536 + 700)); // cut inside the second sample
    S3Uri tok = tokenizer(b);

    Recorder rec = new Recorder();
    var strict =
        new StageData.Request(
            b + "wds/", b.resolve("staged"), tok, 8, 6, StagingLimits.defaults(), 2);
    var e =
        assertThrows(
            IllegalArgumentException.class, () -> new StageData(store, work).stage(strict, rec));
    System.out.println("bad-input summary: " + e.getMessage());
    // shard 00001 is cut after one sample and its source says nothing of its size: it counts as
    // the mean of the readable shards (24), so about 23 samples are lost with it
    assertTrue(
        e.getMessage().contains("27 of 48 samples lost (4 bad, about 23 in 1 lost shard(s))"),
        e.getMessage());
    assertTrue(e.getMessage().contains("1 lost shard(s) (limit 0)"), e.getMessage());
    assertTrue(
        store.list(b.resolve("staged")).stream()
            .noneMatch(o -> o.uri().key().endsWith("manifest.json")));
    Map<String, String> byKey = new java.util.HashMap<>();
    rec.issues.forEach(i -> byKey.put(i.key(), i.reason()));
    assertTrue(byKey.get("corrupt").startsWith("corrupt image"), byKey.toString());
    assertEquals("empty caption", byKey.get("emptycap"));
    assertEquals("missing caption (.txt)", byKey.get("nocap"));
    assertTrue(byKey.get("noimage").startsWith("no image member"));
    assertTrue(byKey.get("t0").startsWith("shard lost from here: truncated tar"), byKey.toString());
    assertTrue(byKey.get("").startsWith("shard lost: 1 sample(s) read"), byKey.toString());
    rec.issues.forEach(i -> assertTrue(i.shard().startsWith("s3://"), i.toString()));

    var lenient =
        strict.withLimits(
            new StagingLimits(64L << 20, 64L << 20, 32 << 10, 100, 0.6, 1)); // one lost shard ok
    Recorder rec2 = new Recorder();
    StagedManifest m = new StageData(store, work).stage(lenient, rec2);
    assertEquals(21, m.samples()); // 20 good + t0 before the cut
    assertEquals(4 + 23, m.badSamples(), "lost samples count as bad in the manifest");
    assertEquals(6, rec2.issues.size(), "issues of finished shards are reported again on resume");
  }

  /**
   * img2dataset records a URL it could not fetch as a sample whose {@code .json} status is not
   * {@code success}: such samples are skipped and counted apart, neither reported as corrupt nor
   * counted against the bad-sample limit; a sample that says success but has no image still is.
   */
  @Test
  void samplesImg2datasetCouldNotDownloadAreSkippedAndCountedNotBad() throws Exception {
    S3Uri b = freshBucket();
    List<WdsSample> samples = new ArrayList<>();
    for (int i = 0; i < 10; i++) samples.add(Fixtures.sample(String.format("good%03d", i), "red"));
    for (String status : List.of("failed_to_download", "failed_to_download", "failed_to_resize")) {
      samples.add(
          new WdsSample(
              "lost" + samples.size(),
              Map.of(
                  "json",
                  ("{\"url\": \"http://x/a.jpg\", \"status\": \""
                          + status
                          + "\","
                          + " \"error_message\": \"HTTP 404\"}")
                      .getBytes(),
                  "txt",
                  "a red square".getBytes())));
    }
    samples.add(
        new WdsSample(
            "claimsok",
            Map.of(
                "txt", "a red square".getBytes(), "json", "{\"status\": \"success\"}".getBytes())));
    store.put(b.resolve("wds/00000.tar"), Fixtures.tar(samples));
    S3Uri tok = tokenizer(b);
    Recorder rec = new Recorder();
    var request =
        new StageData.Request(
            b + "wds/",
            b.resolve("staged"),
            tok,
            8,
            6,
            new StagingLimits(64L << 20, 64L << 20, 32 << 10, 100, 0.1, 0),
            2);
    StagedManifest m = new StageData(store, work).stage(request, rec);
    assertEquals(10, m.samples());
    assertEquals(3, m.failedDownloads());
    assertEquals(1, m.badSamples(), "a success without an image is still corrupt");
    assertEquals(1, rec.issues.size(), rec.issues.toString());
    assertEquals("claimsok", rec.issues.get(0).key());
  }

  @Test
  void checksumMismatchIsDownloadedAgainOnce() {
    S3Uri b = freshBucket();
    Fixtures.writeShards(store, b.resolve("wds"), 1, 4);
    AtomicInteger corruptions = new AtomicInteger(1);
    S3Store flipping =
        new S3Store(store.client()) {
          @Override
          public void download(S3Uri uri, Path target) {
            super.download(uri, target);
            if (corruptions.getAndDecrement() > 0) {
              try {
                byte[] bytes = Files.readAllBytes(target);
                bytes[600] ^= 1;
                Files.write(target, bytes);
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            }
          }
        };
    var req = StageData.Request.of(b + "wds/00000.tar", b.resolve("staged"), tokenizer(b), 8, 6);
    assertEquals(4, new StageData(flipping, work).stage(req, new Recorder()).samples());
    corruptions.set(
        2); // corrupt twice: reported, and with every sample of the set lost the stage fails
    var req2 =
        new StageData.Request(
            b + "wds/00000.tar",
            b.resolve("staged2"),
            req.tokenizer(),
            8,
            6,
            StagingLimits.defaults(),
            1);
    Recorder rec = new Recorder();
    var e =
        assertThrows(
            IllegalArgumentException.class, () -> new StageData(flipping, work).stage(req2, rec));
    assertTrue(rec.issues.get(0).reason().contains("checksum mismatch"), rec.issues.toString());
    assertTrue(e.getMessage().contains("00000.tar"), e.getMessage());
  }

  @Test
  void missingBucketPrefixOrShardNamesTheUri() {
    S3Uri b = freshBucket();
    S3Uri tok = tokenizer(b);
    var noBucket = StageData.Request.of("s3://no-such-bucket/wds/", b.resolve("staged"), tok, 8, 6);
    var e1 =
        assertThrows(
            IllegalArgumentException.class,
            () -> new StageData(store, work).stage(noBucket, new Recorder()));
    assertTrue(e1.getMessage().contains("no-such-bucket"), e1.getMessage());
    var noPrefix = StageData.Request.of(b + "nothing-here/", b.resolve("staged"), tok, 8, 6);
    var e2 =
        assertThrows(
            IllegalArgumentException.class,
            () -> new StageData(store, work).stage(noPrefix, new Recorder()));
    assertTrue(e2.getMessage().contains(b + "nothing-here"), e2.getMessage());
    Fixtures.writeShards(store, b.resolve("wds"), 2, 2);
    var noMatch =
        StageData.Request.of(b + "wds/{00000..00005}.tar", b.resolve("staged"), tok, 8, 6);
    var e3 =
        assertThrows(
            IllegalArgumentException.class,
            () -> new StageData(store, work).stage(noMatch, new Recorder()));
    assertTrue(e3.getMessage().contains("00002.tar"), e3.getMessage());
    var badKeys =
        io.flipflow.activities.data.s3.S3Settings.local(s3.settings().endpoint(), "wrong", "wrong");
    try (S3Store wrong = S3Store.create(badKeys)) {
      var e4 = assertThrows(IllegalArgumentException.class, () -> wrong.list(b.resolve("wds")));
      assertTrue(e4.getMessage().contains(b.bucket()), e4.getMessage());
    }
  }
}
