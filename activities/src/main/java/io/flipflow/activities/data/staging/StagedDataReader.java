package io.flipflow.activities.data.staging;

import io.flipflow.activities.data.image.ImagePreprocessor;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Feeds training from a staged set: shards stream through the worker's bounded {@link StagedCache}
 * and are fetched ahead on background threads; batches come out as primitive arrays. The sample
 * stream is endless and a function of (seed, position) only ({@link ShardWindows}): windows of
 * {@code windowShards} shards, shuffled together, the shards taken once per epoch in a seeded order
 * or drawn with replacement ({@link ShardSampling}). {@link #position()} counts samples delivered;
 * {@link #seek(long)} resumes exactly there. The reader holds its current and next window's shards
 * in the cache and lets go of the rest. Batches are assembled ahead on a background thread ({@code
 * prefetchBatches} in flight), so the training loop only waits for the first one. Encoded records
 * are decoded and preprocessed there by a pool of one thread per core, each taking a share of the
 * batch.
 *
 * <p>One rank of a data-parallel gang reads the same global batches, and decodes only its own share
 * of each: rows {@code rank * B/R .. (rank + 1) * B/R - 1} of the images, so the ranks split every
 * epoch into disjoint shares, and what is trained does not depend on how many ranks there are. Over
 * one stream every rank still reads every caption's tokens (text masking draws its noise over the
 * global batch) and therefore fetches every shard a window touches. Over {@code N} streams ({@link
 * Options#streams()}) each global batch is B/N rows from each stream in turn, every stream over its
 * own shards, and a rank reads its rows alone ({@link RawBatch#rowShare()}): only its streams'
 * shards are downloaded.
 *
 * <p>A sample limit (the scaling study's data-size axis) keeps a fixed pseudo-random subset of that
 * many samples, chosen by a hash of each sample's place in the staged set and not by the run's
 * seed: every run with the same limit trains on the same subset, and a smaller subset is contained
 * in every larger one, as the paper's smaller data sets are subsets of the larger.
 */
public final class StagedDataReader implements AutoCloseable {

  /**
   * A batch as primitive arrays, before the training loop makes its {@code Batch} of tensors from
   * it: {@code pixels}, uint8 CHW images of rows {@code firstImageRow .. firstImageRow + imageRows
   * - 1} of the global batch of {@code size}; {@code tokens}, T ids a row, of all {@code size}
   * rows, or of the image rows alone when {@code rowShare} (a batch of data streams, whose text
   * masks are drawn per row).
   */
  public record RawBatch(
      int size, byte[] pixels, int[] tokens, int firstImageRow, int imageRows, boolean rowShare) {
    /** A batch with every row's image. */
    public RawBatch(int size, byte[] pixels, int[] tokens) {
      this(size, pixels, tokens, 0, size, false);
    }
  }

  /**
   * How a reader streams: windows of {@code windowShards} shards; {@code fetchThreads} downloads;
   * {@code prefetchBatches} assembled ahead (at least 1); a subset of {@code sampleLimit} samples
   * (0, or at least the set's size, for all); {@code sampling}; the images of rank {@code rank} of
   * {@code worldSize} only.
   */
  public record Options(
      int windowShards,
      int fetchThreads,
      int prefetchBatches,
      long sampleLimit,
      ShardSampling sampling,
      int rank,
      int worldSize,
      int streams) {
    public static final Options DEFAULTS = new Options(8, 4, 4, 0, ShardSampling.SHUFFLED, 0, 1, 1);

    public Options {
      if (sampleLimit < 0)
        throw new IllegalArgumentException(
            "sampleLimit must be >= 0 (0 = all), got " + sampleLimit);
      if (worldSize < 1 || rank < 0 || rank >= worldSize)
        throw new IllegalArgumentException("rank " + rank + " of " + worldSize + " is not a rank");
      if (streams < 1)
        throw new IllegalArgumentException("dataStreams must be at least 1, got " + streams);
      if (streams > 1 && streams % worldSize != 0)
        throw new IllegalArgumentException(
            "dataStreams: "
                + streams
                + " streams do not split evenly over "
                + worldSize
                + " ranks");
      sampling = sampling == null ? ShardSampling.SHUFFLED : sampling;
    }

    public Options withSampleLimit(long limit) {
      return new Options(
          windowShards, fetchThreads, prefetchBatches, limit, sampling, rank, worldSize, streams);
    }

    public Options withSampling(ShardSampling how) {
      return new Options(
          windowShards, fetchThreads, prefetchBatches, sampleLimit, how, rank, worldSize, streams);
    }

    public Options withRank(int ofRank, int ofWorld) {
      return new Options(
          windowShards,
          fetchThreads,
          prefetchBatches,
          sampleLimit,
          sampling,
          ofRank,
          ofWorld,
          streams);
    }

    public Options withStreams(int count) {
      return new Options(
          windowShards,
          fetchThreads,
          prefetchBatches,
          sampleLimit,
          sampling,
          rank,
          worldSize,
          count);
    }
  }

  private final S3Store store;
  private final StagedManifest manifest;
  private final StagedCache cache;
  private final int batchSize;
  private final int firstOwnRow;
  private final int ownRows;
  // the rows this reader reads at all: its own when streams split the shards, else every row
  private final int firstRow;
  private final int rows;
  private final boolean rowShare;
  private final ShardWindows[] streams;
  private final long samplesPerEpoch;
  private final ExecutorService fetcher;
  private final ConcurrentHashMap<Integer, CompletableFuture<Path>> local =
      new ConcurrentHashMap<>();
  private final int prefetchBatches;
  // one assembler thread: the window state and open channels below are confined to it
  private final ExecutorService assembler;
  private final java.util.ArrayDeque<CompletableFuture<RawBatch>> ahead =
      new java.util.ArrayDeque<>();
  private final java.util.Map<Integer, FileChannel> channels = new java.util.HashMap<>();
  private final java.util.Map<Integer, long[]> recordOffsets = new java.util.HashMap<>();
  // decodes encoded records, one share of a batch per thread, while the engine trains
  private final java.util.concurrent.ThreadPoolExecutor decoders;
  private final ImagePreprocessor preprocessor;
  private long position;
  private long producerPosition;
  // per stream, the window being assembled from; the shards held in the cache for the streams'
  // windows and the next ones
  private final ShardWindows.Window[] window;
  private final List<java.util.Set<Integer>> held = new ArrayList<>();

  /** A reader caching into {@code cacheDir} without a bound (tools and tests). */
  public StagedDataReader(
      S3Store store,
      StagedManifest manifest,
      Path cacheDir,
      int batchSize,
      long seed,
      int windowShards,
      int fetchThreads) {
    this(
        store,
        manifest,
        StagedCache.unbounded(cacheDir),
        batchSize,
        seed,
        new Options(windowShards, fetchThreads, 4, 0, ShardSampling.SHUFFLED, 0, 1, 1));
  }

  /**
   * @param batchSize the global batch: a rank's reader hands out its own rows' images, with every
   *     row's tokens over one stream or its own rows' over several
   */
  public StagedDataReader(
      S3Store store,
      StagedManifest manifest,
      StagedCache cache,
      int batchSize,
      long seed,
      Options options) {
    if (batchSize <= 0)
      throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
    if (batchSize % options.worldSize() != 0)
      throw new IllegalArgumentException(
          "batchSize "
              + batchSize
              + " does not split evenly over "
              + options.worldSize()
              + " ranks");
    if (manifest.samples() <= 0)
      throw new IllegalArgumentException("staged set " + manifest.root() + " has no samples");
    this.store = store;
    this.manifest = manifest;
    long[] shardSamples =
        manifest.shards().stream().mapToLong(StagedManifest.Shard::samples).toArray();
    long limit = options.sampleLimit();
    if (batchSize % options.streams() != 0)
      throw new IllegalArgumentException(
          "batchSize "
              + batchSize
              + " does not split evenly over "
              + options.streams()
              + " data streams");
    this.streams =
        ShardWindows.streams(
            options.sampling(),
            seed,
            options.windowShards(),
            shardSamples,
            limit > 0 && limit < manifest.samples() ? StagedSubset.of(shardSamples, limit) : null,
            options.streams());
    this.samplesPerEpoch =
        java.util.Arrays.stream(streams).mapToLong(ShardWindows::samplesPerEpoch).sum();
    this.window = new ShardWindows.Window[streams.length];
    for (int l = 0; l < streams.length; l++) held.add(new java.util.HashSet<>());
    this.cache = cache;
    this.batchSize = batchSize;
    this.ownRows = batchSize / options.worldSize();
    this.firstOwnRow = options.rank() * ownRows;
    this.rowShare = options.streams() > 1;
    this.firstRow = rowShare ? firstOwnRow : 0;
    this.rows = rowShare ? ownRows : batchSize;
    this.fetcher =
        Executors.newFixedThreadPool(
            Math.max(1, options.fetchThreads()),
            r -> {
              Thread t = new Thread(r, "staged-fetch");
              t.setDaemon(true);
              return t;
            });
    this.prefetchBatches = Math.max(1, options.prefetchBatches());
    int decodeThreads = Math.max(1, Runtime.getRuntime().availableProcessors());
    this.decoders =
        new java.util.concurrent.ThreadPoolExecutor(
            decodeThreads,
            decodeThreads,
            0,
            java.util.concurrent.TimeUnit.SECONDS,
            new java.util.concurrent.LinkedBlockingQueue<>(),
            r -> {
              Thread t = new Thread(r, "staged-decode");
              t.setDaemon(true);
              return t;
            });
    this.preprocessor = new ImagePreprocessor(manifest.resolution());
    this.assembler =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "staged-batches");
              t.setDaemon(true);
              return t;
            });
  }

  /** A reader of the manifest at {@code manifestUri}, streaming through {@code cache}. */
  public static StagedDataReader open(
      S3Store store,
      S3Uri manifestUri,
      StagedCache cache,
      int batchSize,
      long seed,
      Options options) {
    return new StagedDataReader(
        store, StageData.readManifest(store, manifestUri), cache, batchSize, seed, options);
  }

  /** Samples one epoch visits: the set's, or the limit's. */
  public long samplesInUse() {
    return samplesPerEpoch;
  }

  public StagedManifest manifest() {
    return manifest;
  }

  /** Samples delivered so far (over all epochs). */
  public long position() {
    return position;
  }

  public void seek(long newPosition) {
    if (newPosition < 0)
      throw new IllegalArgumentException("position must be >= 0, got " + newPosition);
    ahead.forEach(f -> f.cancel(false)); // assembled from the old position: dropped
    ahead.clear();
    position = newPosition;
    producerPosition = newPosition;
  }

  public long epoch() {
    return position / samplesPerEpoch;
  }

  /** The next {@code batchSize} samples (crossing epoch boundaries as needed). */
  public RawBatch next() {
    while (ahead.size() < prefetchBatches) {
      long start = producerPosition;
      ahead.add(CompletableFuture.supplyAsync(() -> assemble(start), assembler));
      producerPosition += batchSize;
    }
    RawBatch batch;
    try {
      batch = ahead.poll().join();
    } catch (java.util.concurrent.CompletionException e) {
      seek(position); // drop what was queued behind the failed batch; a later call retries
      if (e.getCause() instanceof RuntimeException re) throw re;
      throw e;
    }
    position += batchSize;
    long start = producerPosition;
    ahead.add(CompletableFuture.supplyAsync(() -> assemble(start), assembler));
    producerPosition += batchSize;
    return batch;
  }

  /** The batch of samples {@code start .. start + batchSize - 1}; runs on the assembler thread. */
  private RawBatch assemble(long start) {
    return manifest.formatOrRaw() == StagedManifest.Format.RAW
        ? assembleRaw(start)
        : assembleEncoded(start);
  }

  /**
   * Encoded records: read here (whole for this rank's rows, the tokens alone for the others'),
   * decoded and preprocessed on the decode pool, a share of the rows per thread, into the pixels.
   */
  private RawBatch assembleEncoded(long start) {
    int px = manifest.pixelBytes();
    int t = manifest.contextLength();
    byte[] pixels = new byte[ownRows * px];
    int[] tokens = new int[rows * t];
    byte[][] images = new byte[ownRows][];
    for (int b = firstRow; b < firstRow + rows; b++) {
      long ref = sampleAt(start + b);
      int shard = (int) (ref >>> 32);
      int index = (int) (ref & 0xffffffffL);
      boolean own = b >= firstOwnRow && b < firstOwnRow + ownRows;
      try {
        FileChannel ch = channel(shard);
        long[] at = offsets(shard, ch);
        // one read per record: the next record's start bounds it
        long from = own ? at[index] : at[index + 1] - 4L * t;
        ByteBuffer record = readFully(ch, (int) (at[index + 1] - from), from);
        if (own) {
          images[b - firstOwnRow] = new byte[record.getInt()];
          record.get(images[b - firstOwnRow]);
        }
        record.asIntBuffer().get(tokens, (b - firstRow) * t, t);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "reading staged shard " + manifest.shards().get(shard).uri(), e);
      }
    }
    int threads = decoders.getMaximumPoolSize();
    List<java.util.concurrent.Future<?>> parts = new ArrayList<>();
    for (int part = 0; part < threads; part++) {
      int from = part * ownRows / threads;
      int to = (part + 1) * ownRows / threads;
      parts.add(
          decoders.submit(
              () -> {
                for (int b = from; b < to; b++) {
                  preprocessor.toChw(ImagePreprocessor.decode(images[b]), pixels, b * px);
                }
              }));
    }
    for (var f : parts) {
      try {
        f.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while decoding a batch", e);
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IllegalStateException(
            "decoding a staged image of " + manifest.root() + ": " + e.getCause(), e.getCause());
      }
    }
    return new RawBatch(batchSize, pixels, tokens, firstOwnRow, ownRows, rowShare);
  }

  private static ByteBuffer readFully(FileChannel ch, int bytes, long at) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    while (b.hasRemaining()) {
      if (ch.read(b, at + b.position()) < 0) throw new IOException("short staged shard");
    }
    return b.flip();
  }

  /**
   * Where each encoded record of a shard starts, and the shard's end last: one pass over its length
   * fields, kept.
   */
  private long[] offsets(int shard, FileChannel ch) throws IOException {
    long[] known = recordOffsets.get(shard);
    if (known != null) {
      return known;
    }
    int samples = (int) manifest.shards().get(shard).samples();
    long[] at = new long[samples + 1];
    long pos = 0;
    for (int i = 0; i < samples; i++) {
      at[i] = pos;
      pos += 4 + readFully(ch, 4, pos).getInt() + 4L * manifest.contextLength();
    }
    if (pos != ch.size()) {
      throw new IOException(
          "staged shard " + shard + " holds " + ch.size() + " bytes, its records " + pos);
    }
    at[samples] = pos;
    recordOffsets.put(shard, at);
    return at;
  }

  private RawBatch assembleRaw(long start) {
    int px = manifest.pixelBytes();
    int t = manifest.contextLength();
    byte[] pixels = new byte[ownRows * px];
    int[] tokens = new int[rows * t];
    ByteBuffer record = ByteBuffer.allocate(manifest.recordBytes()).order(ByteOrder.LITTLE_ENDIAN);
    for (int b = firstRow; b < firstRow + rows; b++) {
      long ref = sampleAt(start + b);
      int shard = (int) (ref >>> 32);
      long index = ref & 0xffffffffL;
      boolean own = b >= firstOwnRow && b < firstOwnRow + ownRows;
      // a record is its pixels, then its tokens: other ranks' rows read the tokens alone
      record.clear().position(own ? 0 : px);
      try {
        FileChannel ch = channel(shard);
        long off = index * manifest.recordBytes();
        while (record.hasRemaining()) {
          if (ch.read(record, off + record.position()) < 0)
            throw new IOException("short staged shard " + shard);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(
            "reading staged shard " + manifest.shards().get(shard).uri(), e);
      }
      record.flip();
      if (own) {
        record.get(pixels, (b - firstOwnRow) * px, px);
      } else {
        record.position(px);
      }
      record.asIntBuffer().get(tokens, (b - firstRow) * t, t);
    }
    return new RawBatch(batchSize, pixels, tokens, firstOwnRow, ownRows, rowShare);
  }

  private FileChannel channel(int shard) throws IOException {
    FileChannel ch = channels.get(shard);
    if (ch == null) {
      ch = FileChannel.open(shardFile(shard), StandardOpenOption.READ);
      channels.put(shard, ch);
    }
    return ch;
  }

  /**
   * (shard << 32 | record) of the sample at global position {@code p}: within each global batch the
   * rows are the streams' in turn, B/N consecutive rows each, and stream {@code l} hands out its
   * samples in its own order (with one stream, position {@code p} of its order).
   */
  private long sampleAt(long p) {
    int perStream = batchSize / streams.length;
    int k = (int) (p % batchSize);
    int l = k / perStream;
    long pos = p / batchSize * perStream + k % perStream;
    if (window[l] == null || !window[l].holds(pos)) {
      moveTo(l, streams[l].at(pos));
    }
    return window[l].samples()[(int) (pos - window[l].start())];
  }

  /**
   * Holds stream {@code l}'s new window's shards and its next one's in the cache and fetches them,
   * and lets go of that stream's shards neither needs: their files may be evicted from here on.
   */
  private void moveTo(int l, ShardWindows.Window next) {
    java.util.Set<Integer> wanted = new java.util.LinkedHashSet<>();
    for (int s : next.shards()) wanted.add(s);
    for (int s : next.nextShards()) wanted.add(s);
    for (Integer s : List.copyOf(held.get(l))) {
      if (!wanted.contains(s)) {
        letGo(l, s);
      }
    }
    for (int s : wanted) {
      if (held.get(l).add(s)) {
        cache.hold(fileOf(s));
      }
      fetch(s);
    }
    window[l] = next;
  }

  private void letGo(int l, int shard) {
    held.get(l).remove(shard);
    FileChannel ch = channels.remove(shard);
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException e) {
        // read-only channel: nothing to lose
      }
    }
    recordOffsets.remove(shard);
    local.remove(shard);
    cache.release(fileOf(shard));
  }

  private Path fileOf(int shard) {
    return cache.shardFile(manifest.contentKey(), shard);
  }

  private CompletableFuture<Path> fetch(int shard) {
    return local.computeIfAbsent(
        shard,
        s ->
            CompletableFuture.supplyAsync(
                () -> {
                  StagedManifest.Shard info = manifest.shards().get(s);
                  Path file = fileOf(s);
                  try {
                    if (Files.isRegularFile(file) && Files.size(file) == info.bytes()) {
                      cache.present(file, info.bytes());
                      return file;
                    }
                    cache.admit(file, info.bytes());
                    try {
                      store.download(S3Uri.parse(info.uri()), file);
                      if (Files.size(file) != info.bytes()) {
                        throw new IOException(
                            info.uri()
                                + ": "
                                + Files.size(file)
                                + " bytes, manifest says "
                                + info.bytes());
                      }
                    } catch (IOException | RuntimeException e) {
                      Files.deleteIfExists(file);
                      cache.forget(file);
                      throw e;
                    }
                    return file;
                  } catch (IOException e) {
                    throw new UncheckedIOException(e);
                  }
                },
                fetcher));
  }

  private Path shardFile(int shard) {
    try {
      return fetch(shard).join();
    } catch (java.util.concurrent.CompletionException e) {
      local.remove(shard); // let a later call try again
      if (e.getCause() instanceof RuntimeException re) throw re;
      throw e;
    }
  }

  @Override
  public void close() {
    ahead.forEach(f -> f.cancel(false));
    assembler.shutdown();
    try {
      assembler.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (int l = 0; l < streams.length; l++) {
      for (Integer shard : List.copyOf(held.get(l))) {
        letGo(l, shard); // closes its file; the cache may evict it from now on
      }
    }
    fetcher.shutdownNow();
    decoders.shutdownNow();
  }
}
