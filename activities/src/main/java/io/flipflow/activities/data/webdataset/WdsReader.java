package io.flipflow.activities.data.webdataset;

import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Reads a WebDataset tar sample by sample: consecutive members with the same key form one sample
 * (the grouping OpenCLIP's {@code tarfile_to_samples} does). Any img2dataset output reads this way.
 * A truncated or corrupt tar surfaces as an {@link IOException} from {@link #next()}; samples
 * returned before it are complete.
 */
public final class WdsReader implements AutoCloseable {
  private final TarArchiveInputStream tar;
  private final long maxMemberBytes;
  private TarArchiveEntry pending;
  private boolean started;

  /** Reads members of any size: only for tars this process wrote itself. */
  public WdsReader(InputStream in) {
    this(in, Long.MAX_VALUE);
  }

  /**
   * @param maxMemberBytes a member larger than this is skipped without being read into memory and
   *     named in its sample's {@link WdsSample#oversized()}
   */
  public WdsReader(InputStream in, long maxMemberBytes) {
    this.tar = new TarArchiveInputStream(in);
    this.maxMemberBytes = maxMemberBytes;
  }

  /** The next sample, or null at the end of the tar. */
  public WdsSample next() throws IOException {
    if (!started) {
      pending = nextFile();
      started = true;
    }
    if (pending == null) {
      return null;
    }
    String key = keyOf(pending.getName());
    Map<String, byte[]> members = new LinkedHashMap<>();
    Map<String, Long> oversized = new LinkedHashMap<>();
    while (pending != null && keyOf(pending.getName()).equals(key)) {
      if (pending.getSize() > maxMemberBytes) {
        oversized.put(extensionOf(pending.getName()), pending.getSize());
        pending = nextFile(); // the tar stream skips the member's bytes unread
        continue;
      }
      byte[] bytes = tar.readAllBytes();
      if (bytes.length != pending.getSize()) {
        throw new IOException(
            "tar member "
                + pending.getName()
                + " truncated: "
                + bytes.length
                + " of "
                + pending.getSize()
                + " bytes");
      }
      members.put(extensionOf(pending.getName()), bytes);
      pending = nextFile();
    }
    return new WdsSample(key, members, oversized);
  }

  private TarArchiveEntry nextFile() throws IOException {
    TarArchiveEntry e;
    while ((e = tar.getNextEntry()) != null) {
      if (e.isFile() && !fileName(e.getName()).startsWith(".")) {
        return e;
      }
    }
    return null;
  }

  private static String fileName(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }

  /** Everything before the first dot of the file name, with its folder (WebDataset's rule). */
  static String keyOf(String path) {
    int slash = path.lastIndexOf('/');
    int dot = path.indexOf('.', slash + 1);
    return dot < 0 ? path : path.substring(0, dot);
  }

  static String extensionOf(String path) {
    int slash = path.lastIndexOf('/');
    int dot = path.indexOf('.', slash + 1);
    return dot < 0 ? "" : path.substring(dot + 1).toLowerCase(java.util.Locale.ROOT);
  }

  @Override
  public void close() throws IOException {
    tar.close();
  }
}
