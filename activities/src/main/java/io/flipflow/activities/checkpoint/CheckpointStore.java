package io.flipflow.activities.checkpoint;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * CheckpointDir in S3: one tar per checkpoint directory, so a checkpoint is one object that either
 * exists whole or not at all. An upload counts only once S3 reports the same size back.
 */
public final class CheckpointStore {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(CheckpointStore.class);

  /** What S3 holds of one checkpoint. */
  public record Stored(S3Uri uri, long sizeBytes, String sha256) {}

  private final S3Store store;

  public CheckpointStore(S3Store store) {
    this.store = store;
  }

  /** The store checkpoints go to (curves and other run files go beside them). */
  public S3Store store() {
    return store;
  }

  /**
   * {@code root/<run>/<stage>/attempt-N/step-000000123.tar}: attempt-scoped, so an attempt that
   * timed out but still runs (a zombie) never overwrites what its successor wrote.
   */
  public static S3Uri uriFor(S3Uri root, String workflowId, String stage, int attempt, long step) {
    return root.resolve(
        workflowId
            + "/"
            + stage
            + "/attempt-"
            + attempt
            + "/"
            + String.format("step-%09d.tar", step));
  }

  /** A downloaded checkpoint that is not what was uploaded: size or checksum differ. */
  public static final class CorruptCheckpoint extends RuntimeException {
    CorruptCheckpoint(String message) {
      super(message);
    }
  }

  /**
   * Uploads a checkpoint folder as one tar. A checkpoint whose state.json names a tokenizer in S3
   * that the folder does not hold yet (the trainer knows the staged data's tokenizer by URI only)
   * gets it first, checked against the recorded SHA-256, so that what is uploaded is
   * self-contained; a tokenizer that has changed since is left out with a warning (training goes
   * on).
   */
  public Stored upload(Path checkpointDir, S3Uri target) {
    Path tar = checkpointDir.resolveSibling(checkpointDir.getFileName() + ".upload.tar");
    try {
      completeTokenizer(checkpointDir);
      String sha256 = pack(checkpointDir, tar);
      long size = Files.size(tar);
      store.putLarge(target, tar);
      long stored =
          store
              .head(target)
              .orElseThrow(
                  () -> new UncheckedIOException(new IOException(target + " missing after upload")))
              .size();
      if (stored != size) {
        throw new UncheckedIOException(
            new IOException(
                "checkpoint " + target + ": S3 holds " + stored + " bytes, uploaded " + size));
      }
      return new Stored(target, size, sha256);
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint: cannot pack " + checkpointDir, e);
    } finally {
      try {
        Files.deleteIfExists(tar);
      } catch (IOException ignored) {
        // a leftover temp file is harmless
      }
    }
  }

  private void completeTokenizer(Path dir) throws IOException {
    Path file = dir.resolve(CheckpointDir.TOKENIZER);
    if (Files.exists(file) || !Files.isRegularFile(dir.resolve(CheckpointDir.STATE))) {
      return;
    }
    CheckpointState state = CheckpointDir.readState(dir);
    CheckpointState.TokenizerRef ref = state.tokenizer();
    if (ref == null || ref.source() == null || !ref.source().startsWith("s3://")) {
      return;
    }
    S3Uri source = S3Uri.parse(ref.source());
    if (!store.exists(source)) {
      LOG.warn("checkpoint {}: its tokenizer {} is gone from S3; uploaded without it", dir, source);
      return;
    }
    byte[] bytes = store.getBytes(source);
    String sha = CheckpointDir.sha256(bytes);
    if (ref.sha256() != null && !ref.sha256().equalsIgnoreCase(sha)) {
      LOG.warn(
          "checkpoint {}: tokenizer {} has SHA-256 {} now, {} when the data was staged; uploaded"
              + " without it",
          dir,
          source,
          sha,
          ref.sha256());
      return;
    }
    Files.write(file, bytes);
  }

  /** Downloads and unpacks {@code uri} into {@code dir}; a missing object is bad input. */
  public Path download(S3Uri uri, Path dir) {
    return download(uri, dir, null, null);
  }

  /**
   * As {@link #download(S3Uri, Path)}, first checking the tar against what the upload recorded
   * ({@code sizeBytes}, {@code sha256}; either may be null when unknown): a mismatch is a {@link
   * CorruptCheckpoint} naming both.
   */
  public Path download(S3Uri uri, Path dir, Long sizeBytes, String sha256) {
    if (!store.exists(uri)) {
      throw new IllegalArgumentException("checkpoint " + uri + " does not exist");
    }
    try {
      Files.createDirectories(dir);
      Path tar = dir.resolveSibling(dir.getFileName() + ".download.tar");
      store.download(uri, tar);
      long size = Files.size(tar);
      if (sizeBytes != null && size != sizeBytes) {
        Files.deleteIfExists(tar);
        throw new CorruptCheckpoint(
            "checkpoint " + uri + " is " + size + " bytes, " + sizeBytes + " were uploaded");
      }
      if (sha256 != null) {
        String got = sha256(tar);
        if (!got.equalsIgnoreCase(sha256)) {
          Files.deleteIfExists(tar);
          throw new CorruptCheckpoint(
              "checkpoint " + uri + " has SHA-256 " + got + ", " + sha256 + " was uploaded");
        }
      }
      try (InputStream in = Files.newInputStream(tar);
          TarArchiveInputStream tin = new TarArchiveInputStream(in)) {
        TarArchiveEntry e;
        while ((e = tin.getNextEntry()) != null) {
          Path out = dir.resolve(e.getName()).normalize();
          if (!out.startsWith(dir) || e.isDirectory()) {
            continue; // only plain files of the checkpoint's own folder
          }
          Files.copy(tin, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      } finally {
        Files.deleteIfExists(tar);
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("checkpoint: cannot unpack " + uri, e);
    }
  }

  private static String sha256(Path file) throws IOException {
    try (InputStream in =
        new java.security.DigestInputStream(
            Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
      in.transferTo(OutputStream.nullOutputStream());
      return HexFormat.of()
          .formatHex(((java.security.DigestInputStream) in).getMessageDigest().digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String pack(Path dir, Path tar) throws IOException {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(Files::isRegularFile).sorted().toList();
    }
    try (OutputStream out = new DigestOutputStream(Files.newOutputStream(tar), sha);
        TarArchiveOutputStream tout = new TarArchiveOutputStream(out)) {
      tout.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      for (Path f : files) {
        TarArchiveEntry entry = new TarArchiveEntry(f.toFile(), f.getFileName().toString());
        tout.putArchiveEntry(entry);
        Files.copy(f, tout);
        tout.closeArchiveEntry();
      }
    }
    return HexFormat.of().formatHex(sha.digest());
  }
}
