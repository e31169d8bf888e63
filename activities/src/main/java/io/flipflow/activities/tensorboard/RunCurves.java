package io.flipflow.activities.tensorboard;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run's curves of one stage (or of its evaluations) as TensorBoard event files: written in the
 * worker's local log folder ({@code LOGDIR/RUN/STAGE}, for {@code tensorboard --logdir}) and copied
 * beside the run's checkpoints ({@code s3://.../checkpoints/RUN/tensorboard/STAGE/}) at each {@link
 * #publish()}. Curves are a view, never the record: a failure to write or copy them is a warning,
 * and training goes on.
 */
public final class RunCurves implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RunCurves.class);

  private final TensorBoardWriter writer;
  private final S3Store store;
  private final S3Uri s3Folder;
  private boolean warned;

  private RunCurves(TensorBoardWriter writer, S3Store store, S3Uri s3Folder) {
    this.writer = writer;
    this.store = store;
    this.s3Folder = s3Folder;
  }

  /**
   * @param logdir the worker's local TensorBoard folder; null writes nothing
   * @param s3RunFolder the run's folder beside its checkpoints, e.g. {@code
   *     s3://b/checkpoints/RUN/}; null keeps the curves local
   * @param part {@code pretrain}, {@code unmasked_tune} or {@code eval}
   * @param firstStep see {@link TensorBoardWriter#open}
   */
  public static RunCurves open(
      Path logdir, S3Store store, S3Uri s3RunFolder, String run, String part, long firstStep) {
    if (logdir == null) {
      return new RunCurves(null, null, null);
    }
    TensorBoardWriter writer = TensorBoardWriter.open(logdir, run + "/" + part, firstStep);
    S3Uri folder = s3RunFolder == null ? null : s3RunFolder.resolve("tensorboard/" + part + "/");
    return new RunCurves(writer, store, folder);
  }

  /** Scalars at {@code step}, e.g. {@code train/loss}. */
  public void scalars(long step, Map<String, ? extends Number> values) {
    if (writer != null) {
      writer.scalars(step, values, System.currentTimeMillis() / 1000.0);
    }
  }

  /** Flushes and copies this part's event files to S3 (small; whole files each time). */
  public void publish() {
    if (writer == null) {
      return;
    }
    writer.flush();
    copy();
  }

  private void copy() {
    if (store == null || s3Folder == null) {
      return;
    }
    try (var files = Files.list(writer.directory())) {
      for (Path f : files.filter(p -> p.getFileName().toString().contains("tfevents")).toList()) {
        store.put(s3Folder.resolve(f.getFileName().toString()), f);
      }
    } catch (IOException | RuntimeException e) {
      if (!warned) {
        warned = true;
        log.warn("TensorBoard curves not copied to {}: {}", s3Folder, e.getMessage());
      }
    }
  }

  /** The local folder of this part's event files, or empty where curves are off. */
  public List<Path> directory() {
    return writer == null ? List.of() : List.of(writer.directory());
  }

  @Override
  public void close() {
    if (writer != null) {
      writer.close();
      copy();
    }
  }
}
