package io.flipflow.activities.data.npm;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * npm packages as data: {@code npm pack NAME@VERSION} fetches the .tgz once into a cache folder;
 * entries are read straight from the .tgz (nothing unpacked to disk).
 */
public final class NpmPackages {
  private static final Logger log = LoggerFactory.getLogger(NpmPackages.class);

  public static final String EMOJI_DATASOURCE_VERSION = "16.0.0";
  public static final String OPENMOJI = "openmoji@17.0.0";
  public static final String EMOJIBASE_DATA = "emojibase-data@17.0.0";

  private final Path cacheDir;

  public NpmPackages(Path cacheDir) {
    this.cacheDir = cacheDir;
  }

  /** {@code $FLIPFLOW_NPM_CACHE} or {@code ~/.cache/flipflow/npm}. */
  public static NpmPackages defaultCache() {
    String dir = System.getenv("FLIPFLOW_NPM_CACHE");
    return new NpmPackages(
        dir != null
            ? Path.of(dir)
            : Path.of(System.getProperty("user.home"), ".cache", "flipflow", "npm"));
  }

  public Path cacheDir() {
    return cacheDir;
  }

  /**
   * Where {@code npm pack} puts {@code name@version}: scoped names lose '@' and '/' becomes '-'.
   */
  public Path tarballPath(String spec) {
    int at = spec.lastIndexOf('@');
    if (at <= 0) {
      throw new IllegalArgumentException(
          "npm package must be pinned as NAME@VERSION: '" + spec + "'");
    }
    String name = spec.substring(0, at).replace("@", "").replace('/', '-');
    return cacheDir.resolve(name + "-" + spec.substring(at + 1) + ".tgz");
  }

  public boolean isCached(String spec) {
    return Files.isRegularFile(tarballPath(spec));
  }

  /** The cached .tgz, running {@code npm pack} first if it is not there yet. */
  public Path fetch(String spec) {
    Path tgz = tarballPath(spec);
    if (Files.isRegularFile(tgz)) {
      return tgz;
    }
    try {
      Files.createDirectories(cacheDir);
      log.info("npm pack {} into {}", spec, cacheDir);
      Process p =
          new ProcessBuilder(
                  "npm", "pack", spec, "--silent", "--pack-destination", cacheDir.toString())
              .redirectErrorStream(true)
              .start();
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(15, TimeUnit.MINUTES) || p.exitValue() != 0) {
        p.destroy();
        throw new UncheckedIOException(
            new IOException("npm pack " + spec + " failed: " + output.strip()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("npm pack " + spec + " (is npm installed?)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted during npm pack " + spec, e);
    }
    if (!Files.isRegularFile(tgz)) {
      throw new UncheckedIOException(
          new IOException("npm pack " + spec + " did not produce " + tgz));
    }
    return tgz;
  }

  /** Reads the entries whose path (without the leading {@code package/}) passes the filter. */
  public static Map<String, byte[]> read(Path tgz, Predicate<String> wanted) {
    Map<String, byte[]> out = new LinkedHashMap<>();
    try (InputStream in =
            new GzipCompressorInputStream(
                new BufferedInputStream(Files.newInputStream(tgz), 1 << 16));
        TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
      TarArchiveEntry e;
      while ((e = tar.getNextEntry()) != null) {
        if (!e.isFile()) {
          continue;
        }
        String name = e.getName();
        String path = name.startsWith("package/") ? name.substring("package/".length()) : name;
        if (wanted.test(path)) {
          out.put(path, tar.readAllBytes());
        }
      }
    } catch (IOException ex) {
      throw new UncheckedIOException("reading " + tgz, ex);
    }
    return out;
  }

  /** One entry; IllegalArgumentException naming the package and entry when it is missing. */
  public static byte[] readOne(Path tgz, String path) {
    byte[] bytes = read(tgz, path::equals).get(path);
    if (bytes == null) {
      throw new IllegalArgumentException(tgz + " has no entry '" + path + "'");
    }
    return bytes;
  }
}
