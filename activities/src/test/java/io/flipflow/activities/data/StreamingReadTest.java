package io.flipflow.activities.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.ShardSampling;
import io.flipflow.activities.data.staging.StageData;
import io.flipflow.activities.data.staging.StagedCache;
import io.flipflow.activities.data.staging.StagedDataReader;
import io.flipflow.activities.data.staging.StagedManifest;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.data.webdataset.WdsSample;
import io.flipflow.activities.testing.S3Fixture;
import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reading staged sets at scale: ranks splitting every epoch, shards drawn with replacement, and a
 * set streaming through a cache smaller than itself. The fixture's 12 shards of 5 samples each have
 * a caption word of their own ({@code sNN}) and a colour of their own, so every sample read is
 * known by its tokens and checked against its pixels.
 */
class StreamingReadTest {
  static final int SHARDS = 12;
  static final int PER_SHARD = 5;
  static final int SAMPLES = SHARDS * PER_SHARD;
  static final int RESOLUTION = 8;
  static final int CONTEXT = 4;

  static S3Fixture s3;
  static S3Store store;
  static StagedManifest raw;
  static StagedManifest encoded;
  static final Map<Integer, Integer> sampleOfToken = new HashMap<>(); // caption word -> sample
  @TempDir Path work;

  @BeforeAll
  static void stage(@TempDir Path scratch) throws Exception {
    s3 = S3Fixture.start();
    store = s3.store();
    store.createBucket("stream");
    S3Uri b = S3Uri.parse("s3://stream/");
    List<String> captions = new ArrayList<>();
    for (int s = 0; s < SHARDS; s++) {
      List<WdsSample> members = new ArrayList<>();
      for (int i = 0; i < PER_SHARD; i++) {
        int k = s * PER_SHARD + i;
        String caption = "sample s" + k;
        captions.add(caption);
        members.add(
            Fixtures.member(
                String.format("%05d%04d", s, i), Fixtures.png(8, 8, colour(k)), caption));
      }
      store.put(b.resolve("wds").resolve(String.format("%05d.tar", s)), Fixtures.tar(members));
    }
    S3Uri tokenizer = b.resolve("tokenizer.json");
    store.put(tokenizer, WordLevelVocabulary.build(captions));
    try (CaptionTokenizer tok = CaptionTokenizer.load(store.getBytes(tokenizer), CONTEXT, "t")) {
      for (int k = 0; k < SAMPLES; k++) {
        sampleOfToken.put(tok.encode(captions.get(k))[2], k);
      }
    }
    assertEquals(SAMPLES, sampleOfToken.size(), "a word of its own per sample");
    var request =
        StageData.Request.of(
            b + "wds/{00000..000" + (SHARDS - 1) + "}.tar",
            b.resolve("staged"),
            tokenizer,
            RESOLUTION,
            CONTEXT);
    raw =
        new StageData(store, scratch)
            .stage(request.withFormat(StagedManifest.Format.RAW), new StageDataTest.Recorder());
    encoded =
        new StageData(store, scratch)
            .stage(request.withFormat(StagedManifest.Format.ENCODED), new StageDataTest.Recorder());
    assertEquals(SAMPLES, raw.samples());
    assertEquals(SAMPLES, encoded.samples());
  }

  @AfterAll
  static void stop() throws Exception {
    store.close();
    s3.close();
  }

  /** A colour no other sample has: red counts up, green says which shard. */
  static Color colour(int sample) {
    return new Color(4 * sample, 20 * (sample / PER_SHARD), 200);
  }

  @Test
  void eachRankDecodesItsShareOfEveryBatchAndTheRanksSplitEveryEpoch() {
    for (StagedManifest m : List.of(raw, encoded)) {
      for (int world : new int[] {2, 3}) {
        int batch = 6;
        int batches = 2 * SAMPLES / batch; // two epochs
        List<StagedDataReader.RawBatch> whole = read(m, options(), batch, batches);
        Set<Integer> firstEpoch = new HashSet<>();
        for (int rank = 0; rank < world; rank++) {
          List<StagedDataReader.RawBatch> share =
              read(m, options().withRank(rank, world), batch, batches);
          int rows = batch / world;
          int px = 3 * RESOLUTION * RESOLUTION;
          for (int i = 0; i < batches; i++) {
            StagedDataReader.RawBatch all = whole.get(i);
            StagedDataReader.RawBatch mine = share.get(i);
            assertArrayEquals(all.tokens(), mine.tokens(), "every caption on every rank");
            assertEquals(rows, mine.imageRows());
            assertEquals(rank * rows, mine.firstImageRow());
            byte[] ownPixels = new byte[rows * px];
            System.arraycopy(all.pixels(), rank * rows * px, ownPixels, 0, rows * px);
            assertArrayEquals(ownPixels, mine.pixels(), m.formatOrRaw() + " rank " + rank);
            for (int r = 0; r < rows; r++) {
              int sample = sampleOf(mine, rank * rows + r);
              assertPixelsOf(sample, mine, r);
              if (i < SAMPLES / batch) {
                assertTrue(firstEpoch.add(sample), "sample " + sample + " on two ranks");
              }
            }
          }
        }
        assertEquals(SAMPLES, firstEpoch.size(), "the ranks' shares cover the epoch");
      }
    }
  }

  @Test
  void overDataStreamsEachRankDownloadsADisjointShareAndReadsTheSameRows() throws Exception {
    int streams = 4; // shards 0, 4, 8 in stream 0; 1, 5, 9 in stream 1; ...
    int batch = 8; // 2 rows a stream
    int batches = 3 * SAMPLES / batch;
    StagedDataReader.Options options = options().withStreams(streams);
    List<StagedDataReader.RawBatch> whole = read(raw, options, batch, batches);
    for (StagedDataReader.RawBatch b : whole) {
      assertTrue(b.rowShare());
      for (int row = 0; row < batch; row++) {
        int shard = sampleOf(b, row) / PER_SHARD;
        assertEquals(row / 2, shard % streams, "row " + row + " comes from its stream's shards");
      }
    }
    // each stream goes through its own 15 samples before repeating one
    for (int l = 0; l < streams; l++) {
      Set<Integer> seen = new HashSet<>();
      for (int i = 0; i < 7; i++) {
        for (int row = 2 * l; row < 2 * l + 2; row++) {
          assertTrue(seen.add(sampleOf(whole.get(i), row)), "stream " + l + " batch " + i);
        }
      }
    }
    for (int world : new int[] {2, 4}) {
      Set<String> downloaded = new HashSet<>();
      for (int rank = 0; rank < world; rank++) {
        Path cacheDir = work.resolve("streams-" + world + "-" + rank);
        List<StagedDataReader.RawBatch> mine = new ArrayList<>();
        try (StagedDataReader reader =
            new StagedDataReader(
                store,
                raw,
                StagedCache.unbounded(cacheDir),
                batch,
                42,
                options.withRank(rank, world))) {
          for (int i = 0; i < batches; i++) {
            mine.add(reader.next());
          }
        }
        int rows = batch / world;
        int px = 3 * RESOLUTION * RESOLUTION;
        for (int i = 0; i < batches; i++) {
          StagedDataReader.RawBatch all = whole.get(i);
          StagedDataReader.RawBatch share = mine.get(i);
          assertEquals(rank * rows, share.firstImageRow());
          assertEquals(rows * CONTEXT, share.tokens().length, "its own rows' captions only");
          int[] ownTokens = new int[rows * CONTEXT];
          System.arraycopy(all.tokens(), rank * rows * CONTEXT, ownTokens, 0, ownTokens.length);
          assertArrayEquals(ownTokens, share.tokens(), world + " ranks, rank " + rank);
          byte[] ownPixels = new byte[rows * px];
          System.arraycopy(all.pixels(), rank * rows * px, ownPixels, 0, ownPixels.length);
          assertArrayEquals(ownPixels, share.pixels(), world + " ranks, rank " + rank);
        }
        try (var files = Files.walk(cacheDir)) {
          List<String> shards =
              files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".bin")).toList();
          assertEquals(SHARDS / world, shards.size(), "rank " + rank + " of " + world + shards);
          for (String shard : shards) {
            assertTrue(downloaded.add(shard), shard + " downloaded by two ranks");
          }
        }
      }
      assertEquals(SHARDS, downloaded.size(), "the ranks' downloads cover the set");
    }
  }

  @Test
  void resampledDrawsShardsWithReplacementAndIsAFunctionOfSeedAndPosition() {
    StagedDataReader.Options resampled = options().withSampling(ShardSampling.RESAMPLED);
    int batch = 5;
    int windows = 120; // of 2 shards = 10 samples each
    List<Integer> stream = samples(read(raw, resampled, batch, windows * 2));
    assertEquals(stream, samples(read(raw, resampled, batch, windows * 2)), "deterministic");
    assertNotEquals(stream, samples(read(raw, resampled, batch, windows * 2, 8)), "seeded");
    assertNotEquals(
        samples(read(raw, options(), batch, windows * 2)), stream, "not the shuffled stream");

    Map<Integer, Integer> draws = new HashMap<>();
    boolean repeatedInOneWindow = false;
    for (int w = 0; w < windows; w++) {
      List<Integer> window = stream.subList(10 * w, 10 * w + 10);
      Map<Integer, Integer> perShard = new HashMap<>();
      window.forEach(s -> perShard.merge(s / PER_SHARD, 1, Integer::sum));
      // a window is whole shards: 2 draws of 5 samples, the same shard twice if drawn twice
      assertTrue(perShard.size() <= 2, "window " + w + " holds " + perShard);
      perShard.forEach((shard, n) -> draws.merge(shard, n / PER_SHARD, Integer::sum));
      repeatedInOneWindow |= perShard.size() == 1;
      assertTrue(perShard.values().stream().allMatch(n -> n % PER_SHARD == 0), "" + perShard);
    }
    assertEquals(2 * windows, draws.values().stream().mapToInt(Integer::intValue).sum());
    assertTrue(repeatedInOneWindow, "with replacement a window draws one shard twice sometimes");
    // uniform: 240 draws of 12 shards, 20 expected each (binomial sd 4.4)
    assertEquals(SHARDS, draws.size(), "every shard drawn: " + draws);
    draws.forEach((shard, n) -> assertTrue(n >= 5 && n <= 40, "shard " + shard + ": " + draws));
    // no epochs: the first set-sized stretch repeats samples and misses others
    assertTrue(new HashSet<>(stream.subList(0, SAMPLES)).size() < SAMPLES);

    // resuming at any position continues the same stream
    try (StagedDataReader reader = reader(raw, resampled, 7, 0)) {
      reader.seek(333);
      List<Integer> resumed = samples(List.of(reader.next(), reader.next()));
      assertEquals(stream.subList(333, 347), resumed);
    }
  }

  @Test
  void aSetLargerThanTheCacheStreamsThroughItLeastRecentlyUsedShardsFirst() throws Exception {
    long shardBytes = raw.shards().get(0).bytes();
    long bound = 5 * shardBytes; // the set is 12 shards; a reader holds 2 windows of 2
    StagedCache small = new StagedCache(work.resolve("small"), bound);
    int batch = 6;
    int batches = 3 * SAMPLES / batch;
    List<StagedDataReader.RawBatch> unbounded = read(raw, options(), batch, batches);
    long mostOnDisk = 0;
    try (StagedDataReader reader =
        new StagedDataReader(store, raw, small, batch, 42, options().withSampleLimit(0))) {
      for (int i = 0; i < batches; i++) {
        StagedDataReader.RawBatch b = reader.next();
        assertArrayEquals(unbounded.get(i).tokens(), b.tokens(), "batch " + i);
        assertArrayEquals(unbounded.get(i).pixels(), b.pixels(), "batch " + i);
        long onDisk = bytesUnder(small.root());
        mostOnDisk = Math.max(mostOnDisk, onDisk);
        assertTrue(
            onDisk <= bound, onDisk + " bytes on disk after batch " + i + ", bound " + bound);
        assertTrue(small.sizeBytes() <= bound);
      }
    }
    assertTrue(small.evictions() >= SHARDS, "three epochs through 5 shards' room evict");
    System.out.printf(
        "a %d-byte set through a %d-byte cache: at most %d bytes on disk, %d evictions%n",
        SAMPLES * raw.recordBytes(), bound, mostOnDisk, small.evictions());

    // held shards stay, the others go least recently used first; a new process takes them over
    Path root = work.resolve("lru");
    StagedCache cache = new StagedCache(root, 30);
    Path a = root.resolve("k/00000.bin");
    Path b = root.resolve("k/00001.bin");
    Path c = root.resolve("k/00002.bin");
    for (Path f : List.of(a, b, c)) {
      cache.admit(f, 10);
      write(f, 10);
    }
    cache.hold(a); // used now, and held
    cache.hold(b);
    cache.release(b); // used after c, not held
    Path d = root.resolve("k/00003.bin");
    cache.admit(d, 10);
    assertFalse(Files.exists(c), "least recently used, not held: evicted first");
    assertTrue(Files.exists(a) && Files.exists(b));
    write(d, 10);
    cache.admit(root.resolve("k/00004.bin"), 10);
    assertFalse(Files.exists(b));
    assertTrue(Files.exists(a), "held: never evicted");
    Files.writeString(root.resolve("k/.dl-1.part"), "interrupted");
    StagedCache next = new StagedCache(root, 30);
    assertEquals(20, next.sizeBytes(), "a and d taken over");
    assertFalse(Files.exists(root.resolve("k/.dl-1.part")));
  }

  private static void write(Path file, int bytes) throws Exception {
    Files.createDirectories(file.getParent());
    Files.write(file, new byte[bytes]);
  }

  /** Bytes of the shard files under root now (a download in flight is a .part until done). */
  private static long bytesUnder(Path root) throws Exception {
    long total = 0;
    if (!Files.exists(root)) {
      return 0;
    }
    try (var sets = Files.newDirectoryStream(root)) {
      for (Path set : sets) {
        try (var shards = Files.newDirectoryStream(set, "*.bin")) {
          for (Path f : shards) {
            try {
              total += Files.size(f);
            } catch (java.nio.file.NoSuchFileException evicted) {
              // deleted while listing
            }
          }
        }
      }
    }
    return total;
  }

  /** Two-shard windows, four batches ahead, all samples, shuffled, one rank. */
  private static StagedDataReader.Options options() {
    return new StagedDataReader.Options(2, 2, 4, 0, ShardSampling.SHUFFLED, 0, 1, 1);
  }

  private StagedDataReader reader(
      StagedManifest m, StagedDataReader.Options options, int batch, long seed) {
    return new StagedDataReader(
        store, m, StagedCache.unbounded(work.resolve("cache")), batch, 42 + seed, options);
  }

  private List<StagedDataReader.RawBatch> read(
      StagedManifest m, StagedDataReader.Options options, int batch, int batches) {
    return read(m, options, batch, batches, 0);
  }

  private List<StagedDataReader.RawBatch> read(
      StagedManifest m, StagedDataReader.Options options, int batch, int batches, long seed) {
    List<StagedDataReader.RawBatch> out = new ArrayList<>();
    try (StagedDataReader reader = reader(m, options, batch, seed)) {
      for (int i = 0; i < batches; i++) {
        out.add(reader.next());
      }
    }
    return out;
  }

  /** The samples of a stream of batches, by their caption word. */
  private static List<Integer> samples(List<StagedDataReader.RawBatch> batches) {
    List<Integer> out = new ArrayList<>();
    for (StagedDataReader.RawBatch b : batches) {
      for (int row = 0; row < b.size(); row++) {
        out.add(sampleOf(b, row));
      }
    }
    return out;
  }

  /** Row {@code row}'s sample: its caption's third token is its own word. */
  private static int sampleOf(StagedDataReader.RawBatch b, int row) {
    Integer sample = sampleOfToken.get(b.tokens()[row * CONTEXT + 2]);
    if (sample == null) {
      throw new AssertionError("row " + row + " holds no sample's caption");
    }
    return sample;
  }

  private static void assertPixelsOf(int sample, StagedDataReader.RawBatch b, int imageRow) {
    int px = RESOLUTION * RESOLUTION;
    Color c = colour(sample);
    int at = imageRow * 3 * px;
    assertEquals((byte) c.getRed(), b.pixels()[at], "red of sample " + sample);
    assertEquals((byte) c.getGreen(), b.pixels()[at + px], "green of sample " + sample);
    assertEquals((byte) c.getBlue(), b.pixels()[at + 2 * px], "blue of sample " + sample);
  }
}
