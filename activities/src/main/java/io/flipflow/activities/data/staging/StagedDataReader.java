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
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Feeds training from a staged set: shards are cached on local disk and fetched ahead on background
 * threads; batches come out as primitive arrays. The sample stream is endless and deterministic:
 * epoch {@code e} visits the shards in a seeded random order and shuffles samples within windows of
 * {@code windowShards} consecutive shards of that order (WebDataset-style shuffle, bounded so a
 * window's shards suffice). {@link #position()} counts samples delivered; {@link #seek(long)}
 * resumes exactly there. Batches are assembled ahead on a background thread ({@code
 * prefetchBatches} in flight), so the training loop only waits for the first one; shard files stay
 * open between batches. Encoded records are decoded and preprocessed there by a pool of one thread
 * per core, each taking a share of the batch.
 *
 * <p>A sample limit (the scaling study's data-size axis) keeps a fixed pseudo-random subset of that
 * many samples, chosen by a hash of each sample's place in the staged set and not by the run's
 * seed: every run with the same limit trains on the same subset, and a smaller subset is contained
 * in every larger one, as the paper's smaller data sets are subsets of the larger.
 */
public final class StagedDataReader implements AutoCloseable {

  /**
   * A batch as primitive arrays ({@code pixels}: B*3*H*W uint8, CHW per sample; {@code tokens}:
   * B*T), before the training loop makes its {@code Batch} of tensors from it.
   */
  public record RawBatch(int size, byte[] pixels, int[] tokens) {}

  private final S3Store store;
  private final StagedManifest manifest;
  private final Path cacheDir;
  private final int batchSize;
  private final long seed;
  private final int windowShards;
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
  // current window: epoch, first index within epoch, sample (shard, record) pairs in shuffled order
  private long windowEpoch = -1;
  private long windowStart = -1;
  private long[] window = new long[0];
  // the samples in use: all (null) or the limit's subset, per shard
  private final java.util.BitSet[] kept;
  private final long samplesInUse;
  private final List<Integer> shardsInUse = new ArrayList<>();

  public StagedDataReader(
      S3Store store,
      StagedManifest manifest,
      Path cacheDir,
      int batchSize,
      long seed,
      int windowShards,
      int fetchThreads) {
    this(store, manifest, cacheDir, batchSize, seed, windowShards, fetchThreads, 4, 0);
  }

  /**
   * @param prefetchBatches batches assembled ahead on the background thread (at least 1)
   * @param sampleLimit train on a fixed subset of this many samples; 0, or at least the set's size,
   *     for all of them
   */
  public StagedDataReader(
      S3Store store,
      StagedManifest manifest,
      Path cacheDir,
      int batchSize,
      long seed,
      int windowShards,
      int fetchThreads,
      int prefetchBatches,
      long sampleLimit) {
    if (sampleLimit < 0)
      throw new IllegalArgumentException("sampleLimit must be >= 0 (0 = all), got " + sampleLimit);
    if (batchSize <= 0)
      throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
    if (manifest.samples() <= 0)
      throw new IllegalArgumentException("staged set " + manifest.root() + " has no samples");
    this.store = store;
    this.manifest = manifest;
    this.kept =
        sampleLimit > 0 && sampleLimit < manifest.samples()
            ? StagedSubset.of(
                manifest.shards().stream().mapToLong(StagedManifest.Shard::samples).toArray(),
                sampleLimit)
            : null;
    this.samplesInUse = kept == null ? manifest.samples() : sampleLimit;
    for (int i = 0; i < manifest.shards().size(); i++) {
      if (kept == null || !kept[i].isEmpty()) shardsInUse.add(i);
    }
    this.cacheDir = cacheDir.resolve(manifest.contentKey());
    this.batchSize = batchSize;
    this.seed = seed;
    this.windowShards = Math.max(1, windowShards);
    this.fetcher =
        Executors.newFixedThreadPool(
            Math.max(1, fetchThreads),
            r -> {
              Thread t = new Thread(r, "staged-fetch");
              t.setDaemon(true);
              return t;
            });
    this.prefetchBatches = Math.max(1, prefetchBatches);
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

  public static StagedDataReader open(
      S3Store store, S3Uri manifestUri, Path cacheDir, int batchSize, long seed) {
    return open(store, manifestUri, cacheDir, batchSize, seed, 0);
  }

  /** As above, on a fixed subset of {@code sampleLimit} samples (0 = all). */
  public static StagedDataReader open(
      S3Store store, S3Uri manifestUri, Path cacheDir, int batchSize, long seed, long sampleLimit) {
    return new StagedDataReader(
        store,
        StageData.readManifest(store, manifestUri),
        cacheDir,
        batchSize,
        seed,
        8,
        4,
        4,
        sampleLimit);
  }

  /** Samples one epoch visits: the set's, or the limit's. */
  public long samplesInUse() {
    return samplesInUse;
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
    return position / samplesInUse;
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
   * Encoded records: read here, decoded and preprocessed on the decode pool, a share of the batch
   * per thread, into the batch's pixels.
   */
  private RawBatch assembleEncoded(long start) {
    int px = manifest.pixelBytes();
    int t = manifest.contextLength();
    byte[] pixels = new byte[batchSize * px];
    int[] tokens = new int[batchSize * t];
    byte[][] images = new byte[batchSize][];
    for (int b = 0; b < batchSize; b++) {
      long ref = sampleAt(start + b);
      int shard = (int) (ref >>> 32);
      int index = (int) (ref & 0xffffffffL);
      try {
        FileChannel ch = channel(shard);
        long[] at = offsets(shard, ch);
        // one read per record: the next record's start bounds it
        ByteBuffer record = readFully(ch, (int) (at[index + 1] - at[index]), at[index]);
        images[b] = new byte[record.getInt()];
        record.get(images[b]);
        record.asIntBuffer().get(tokens, b * t, t);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "reading staged shard " + manifest.shards().get(shard).uri(), e);
      }
    }
    int threads = decoders.getMaximumPoolSize();
    List<java.util.concurrent.Future<?>> parts = new ArrayList<>();
    for (int part = 0; part < threads; part++) {
      int from = part * batchSize / threads;
      int to = (part + 1) * batchSize / threads;
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
    return new RawBatch(batchSize, pixels, tokens);
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
    byte[] pixels = new byte[batchSize * px];
    int[] tokens = new int[batchSize * t];
    ByteBuffer record = ByteBuffer.allocate(manifest.recordBytes()).order(ByteOrder.LITTLE_ENDIAN);
    for (int b = 0; b < batchSize; b++) {
      long ref = sampleAt(start + b);
      int shard = (int) (ref >>> 32);
      long index = ref & 0xffffffffL;
      record.clear();
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
      record.get(pixels, b * px, px);
      record.asIntBuffer().get(tokens, b * t, t);
    }
    return new RawBatch(batchSize, pixels, tokens);
  }

  private FileChannel channel(int shard) throws IOException {
    FileChannel ch = channels.get(shard);
    if (ch == null) {
      ch = FileChannel.open(shardFile(shard), StandardOpenOption.READ);
      channels.put(shard, ch);
    }
    return ch;
  }

  /** (shard << 32 | record) of the sample at a global position. */
  private long sampleAt(long pos) {
    long n = samplesInUse;
    long epoch = pos / n;
    long inEpoch = pos % n;
    if (epoch != windowEpoch || inEpoch < windowStart || inEpoch >= windowStart + window.length) {
      loadWindow(epoch, inEpoch);
    }
    return window[(int) (inEpoch - windowStart)];
  }

  private void loadWindow(long epoch, long inEpoch) {
    int[] order = shardOrder(epoch);
    long start = 0;
    for (int w = 0; w < order.length; w += windowShards) {
      List<Long> refs = new ArrayList<>();
      for (int k = w; k < Math.min(order.length, w + windowShards); k++) {
        int s = order[k];
        for (long i = 0; i < manifest.shards().get(s).samples(); i++) {
          if (kept == null || kept[s].get((int) i)) refs.add(((long) s << 32) | i);
        }
      }
      if (inEpoch < start + refs.size()) {
        java.util.Collections.shuffle(refs, new Random(seed * 1_000_003L + epoch * 7919L + w));
        window = refs.stream().mapToLong(Long::longValue).toArray();
        windowEpoch = epoch;
        windowStart = start;
        // fetch this window's shards now and the next window's in the background
        for (int k = w; k < Math.min(order.length, w + 2 * windowShards); k++) fetch(order[k]);
        if (w + windowShards >= order.length) {
          int[] nextOrder = shardOrder(epoch + 1);
          for (int k = 0; k < Math.min(nextOrder.length, windowShards); k++) fetch(nextOrder[k]);
        }
        return;
      }
      start += refs.size();
    }
    throw new IllegalStateException("position beyond the epoch: " + inEpoch);
  }

  private int[] shardOrder(long epoch) {
    List<Integer> order = new ArrayList<>(shardsInUse);
    java.util.Collections.shuffle(order, new Random(seed ^ (epoch * 0x9E3779B97F4A7C15L)));
    return order.stream().mapToInt(Integer::intValue).toArray();
  }

  private CompletableFuture<Path> fetch(int shard) {
    return local.computeIfAbsent(
        shard,
        s ->
            CompletableFuture.supplyAsync(
                () -> {
                  StagedManifest.Shard info = manifest.shards().get(s);
                  Path file = cacheDir.resolve(String.format("%05d.bin", s));
                  try {
                    if (!Files.isRegularFile(file) || Files.size(file) != info.bytes()) {
                      store.download(S3Uri.parse(info.uri()), file);
                      if (Files.size(file) != info.bytes()) {
                        throw new UncheckedIOException(
                            new IOException(
                                info.uri()
                                    + ": "
                                    + Files.size(file)
                                    + " bytes, manifest says "
                                    + info.bytes()));
                      }
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
    for (FileChannel ch : channels.values()) {
      try {
        ch.close();
      } catch (IOException e) {
        // read-only channel: nothing to lose
      }
    }
    fetcher.shutdownNow();
    decoders.shutdownNow();
  }
}
