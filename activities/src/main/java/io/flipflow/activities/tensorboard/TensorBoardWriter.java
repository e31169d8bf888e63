package io.flipflow.activities.tensorboard;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes scalars as a TensorBoard event file, {@code <logdir>/<run>/events.out.tfevents.<unix
 * seconds>.<host>.<pid>.<sequence>}: TFRecord-framed {@code Event} protos, the first one {@code
 * file_version: "brain.Event:2"}, the others one {@code Summary} of {@code simple_value}s each.
 * Point {@code tensorboard --logdir <logdir>} at the parent folder: every folder below it that
 * holds event files is a run.
 *
 * <p><b>One file per open.</b> Every {@link #open} starts a new file and never appends to an
 * existing one (TensorBoard reads all event files of a run folder, in name order, which is time
 * order), so a retried or resumed activity attempt simply opens again. Each file starts, after its
 * version, with TensorBoard's session-start marker ({@code SessionLog.START}) at the first step the
 * writer will write. TensorBoard's Python loaders take a later marker of a folder as a restart and
 * drop what earlier files recorded from that step on (its Rust data server, the default for {@code
 * tensorboard --logdir}, replaces a tag's points from any step that comes again): a resumed
 * attempt's curve shows its values once rather than both attempts' overlapping. The drop covers
 * every tag of the folder, so writers whose steps start again from 0 (another stage, evaluation)
 * belong in their own run folder (e.g. {@code <run>/pretrain}, {@code <run>/eval}), and two writers
 * open at once should not share one.
 *
 * <p><b>Errors never reach the caller as exceptions.</b> If the file cannot be created or a write
 * fails, the writer logs one warning, stops writing (later calls do nothing) and keeps the cause in
 * {@link #failure()}; training goes on without its TensorBoard file. Only programming errors throw:
 * a null or empty tag, a null value, a run name that is not a relative path inside {@code logdir}.
 *
 * <p><b>Bounded memory.</b> Events go straight to a 64 KiB buffered stream; nothing is kept per
 * event. The buffer reaches the file on {@link #flush()}, on {@link #close()}, and by itself when a
 * write comes more than the flush interval (10 s by default) after the last flush, so a live
 * TensorBoard sees the curve at most that late. A process killed without {@code close()} loses at
 * most the unflushed tail; a torn last record is skipped by TensorBoard's reader.
 *
 * <p>Values are written as float32 ({@code simple_value}, as TensorFlow's and PyTorch's writers
 * do); NaN and infinities are written as such. The methods are thread-safe.
 */
public final class TensorBoardWriter implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TensorBoardWriter.class);

  public static final Duration DEFAULT_FLUSH_INTERVAL = Duration.ofSeconds(10);
  private static final int BUFFER_BYTES = 64 * 1024;
  private static final AtomicLong FILES_OPENED = new AtomicLong();
  private static final String HOST = hostName();

  private final Path directory;
  private final Path file;
  private final long flushIntervalNanos;
  private OutputStream out;
  private IOException failure;
  private long lastFlushNanos;

  private TensorBoardWriter(Path directory, Path file, OutputStream out, Duration flushInterval) {
    this.directory = directory;
    this.file = file;
    this.out = out;
    this.flushIntervalNanos = flushInterval.toNanos();
    this.lastFlushNanos = System.nanoTime();
  }

  /**
   * A new event file in {@code logdir/run} (folders made as needed) whose first record after the
   * file version is TensorBoard's session-start marker at {@code firstStep}.
   *
   * @param run a relative path such as {@code flip-7/pretrain}: the run's name in TensorBoard
   * @param firstStep the first step this writer will write: 0 for a stage that starts from scratch,
   *     the resumed checkpoint's step + 1 for one that goes on, the evaluated checkpoint's step for
   *     an evaluation. What earlier files of the folder hold at {@code firstStep} and later no
   *     longer shows (for every tag of the folder).
   */
  public static TensorBoardWriter open(Path logdir, String run, long firstStep) {
    return open(logdir, run, firstStep, DEFAULT_FLUSH_INTERVAL);
  }

  static TensorBoardWriter open(Path logdir, String run, long firstStep, Duration flushInterval) {
    Path directory = runDirectory(logdir, run);
    double now = nowSeconds();
    Path file = directory.resolve(fileName((long) now, FILES_OPENED.incrementAndGet()));
    OutputStream stream = null;
    try {
      Files.createDirectories(directory);
      for (int tries = 1; stream == null; tries++) {
        try {
          stream = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW);
        } catch (FileAlreadyExistsException e) {
          if (tries == 16) {
            throw e;
          }
          file = directory.resolve(fileName((long) now, FILES_OPENED.incrementAndGet()));
        }
      }
    } catch (IOException e) {
      TensorBoardWriter writer = new TensorBoardWriter(directory, file, null, flushInterval);
      writer.fail(e);
      return writer;
    }
    return start(directory, file, stream, firstStep, flushInterval, now);
  }

  /** Writes the file's opening records to {@code stream} (tests pass a stream that fails). */
  static TensorBoardWriter start(
      Path directory,
      Path file,
      OutputStream stream,
      long firstStep,
      Duration flushInterval,
      double wallTime) {
    TensorBoardWriter writer =
        new TensorBoardWriter(
            directory, file, new BufferedOutputStream(stream, BUFFER_BYTES), flushInterval);
    writer.write(EventSchema.fileVersionEvent(wallTime));
    writer.write(EventSchema.sessionStartEvent(firstStep, wallTime));
    writer.flush();
    return writer;
  }

  /** {@code tag} at {@code step}, stamped with the current time. */
  public void scalar(String tag, long step, double value) {
    scalar(tag, step, value, nowSeconds());
  }

  /**
   * {@code tag} at {@code step}.
   *
   * @param wallTimeSeconds seconds since the epoch (TensorBoard's "relative" and "wall" axes)
   */
  public void scalar(String tag, long step, double value, double wallTimeSeconds) {
    scalars(step, Map.of(checkTag(tag), value), wallTimeSeconds);
  }

  /**
   * Several tags at one step, as one event (e.g. a step's loss, learning rate and throughput, or an
   * evaluation's metrics). Nothing is written for an empty map.
   */
  public void scalars(long step, Map<String, ? extends Number> values, double wallTimeSeconds) {
    Map<String, Double> checked = new LinkedHashMap<>();
    for (Map.Entry<String, ? extends Number> e : values.entrySet()) {
      Number v = Objects.requireNonNull(e.getValue(), () -> "null value for tag " + e.getKey());
      checked.put(checkTag(e.getKey()), v.doubleValue());
    }
    if (!checked.isEmpty()) {
      write(EventSchema.scalarsEvent(step, wallTimeSeconds, checked));
    }
  }

  /** Hands what is buffered to the file (to the OS, not to the disk: no fsync). */
  public synchronized void flush() {
    if (out == null) {
      return;
    }
    try {
      out.flush();
      lastFlushNanos = System.nanoTime();
    } catch (IOException e) {
      fail(e);
    }
  }

  /** Flushes and closes the file; later calls do nothing. Never throws. */
  @Override
  public synchronized void close() {
    if (out == null) {
      return;
    }
    try {
      out.close();
    } catch (IOException e) {
      fail(e);
    }
    out = null;
  }

  /** Why this writer stopped writing, if it did: the file lacks everything from then on. */
  public synchronized Optional<IOException> failure() {
    return Optional.ofNullable(failure);
  }

  /** This writer's event file (it may not exist where {@link #failure()} says why). */
  public Path file() {
    return file;
  }

  /** The run folder, {@code logdir/run}: what goes to S3 next to the checkpoints. */
  public Path directory() {
    return directory;
  }

  private synchronized void write(byte[] event) {
    if (out == null) {
      return;
    }
    try {
      TfRecord.write(out, event);
      if (System.nanoTime() - lastFlushNanos >= flushIntervalNanos) {
        out.flush();
        lastFlushNanos = System.nanoTime();
      }
    } catch (IOException e) {
      fail(e);
    }
  }

  private void fail(IOException e) {
    if (failure == null) {
      failure = e;
      log.warn(
          "TensorBoard events stop here for {} (training goes on without them): {}",
          file,
          e.toString());
    }
    if (out != null) {
      try {
        out.close();
      } catch (IOException ignored) {
        // already failed; the first cause is the one kept
      }
      out = null;
    }
  }

  private static String checkTag(String tag) {
    if (tag == null || tag.isEmpty()) {
      throw new IllegalArgumentException("a TensorBoard tag must be non-empty, got " + tag);
    }
    return tag;
  }

  static Path runDirectory(Path logdir, String run) {
    Objects.requireNonNull(logdir, "logdir");
    if (run == null || run.isBlank()) {
      throw new IllegalArgumentException("run must be a non-empty relative path, got " + run);
    }
    Path relative = Path.of(run);
    if (relative.isAbsolute()) {
      throw new IllegalArgumentException("run must be a relative path, got " + run);
    }
    for (Path part : relative) {
      if (part.toString().equals("..")) {
        throw new IllegalArgumentException("run must stay inside logdir, got " + run);
      }
    }
    return logdir.resolve(relative).normalize();
  }

  /**
   * TensorBoard's own pattern (its EventFileWriter's), with the sequence zero-padded too: readers
   * take a folder's files in name order, which is then open order for the files of one process.
   */
  static String fileName(long unixSeconds, long sequence) {
    return String.format(
        "events.out.tfevents.%010d.%s.%d.%06d",
        unixSeconds, HOST, ProcessHandle.current().pid(), sequence);
  }

  private static double nowSeconds() {
    return System.currentTimeMillis() / 1000.0;
  }

  /** The kernel's host name as Python's socket.gethostname() gives it, without a DNS lookup. */
  private static String hostName() {
    String name = null;
    try {
      name = Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    if (name == null || name.isEmpty()) {
      name = System.getenv("HOSTNAME");
    }
    if (name == null || name.isEmpty()) {
      try {
        name = InetAddress.getLocalHost().getHostName();
      } catch (IOException e) {
        name = "localhost";
      }
    }
    String safe = name.replaceAll("[^A-Za-z0-9._-]", "_");
    return safe.isEmpty() ? "localhost" : safe;
  }
}
