package io.flipflow.activities.interop;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Model folders between local disk and S3 (a folder = the objects directly under a prefix). */
public final class ModelFolders {
  private ModelFolders() {}

  /** Downloads the objects directly under {@code prefix} into {@code dir}; none is bad input. */
  public static Path download(S3Store store, S3Uri prefix, Path dir) {
    S3Uri folder = prefix;
    int copied = 0;
    for (S3Store.ObjectInfo o : store.list(folder)) {
      String rest = o.uri().key().substring(folder.prefix().length());
      if (!rest.isEmpty() && !rest.contains("/")) {
        store.download(o.uri(), dir.resolve(rest));
        copied++;
      }
    }
    if (copied == 0) {
      throw new IllegalArgumentException(folder + " holds no files");
    }
    return dir;
  }

  /** Uploads every file of {@code dir} under {@code prefix}; returns their URIs. */
  public static List<S3Uri> upload(S3Store store, Path dir, S3Uri prefix) {
    S3Uri folder = prefix;
    store.requireBucket(folder);
    List<S3Uri> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
        S3Uri target = folder.resolve(f.getFileName().toString());
        store.putLarge(target, f);
        out.add(target);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir, e);
    }
    return out;
  }

  /** The bytes of a local file or an {@code s3://} object. */
  public static byte[] read(S3Store store, String fileOrUri) {
    if (fileOrUri.startsWith("s3://")) {
      S3Uri uri = S3Uri.parse(fileOrUri);
      if (!store.exists(uri)) {
        throw new IllegalArgumentException(uri + " does not exist");
      }
      return store.getBytes(uri);
    }
    Path file = Path.of(fileOrUri);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(file + " does not exist");
    }
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }
}
