package io.flipflow.activities.data.webdataset;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Writes WebDataset samples to a tar: members {@code <key>.<ext>}, one sample's members together.
 */
public final class WdsWriter implements AutoCloseable {
  private final TarArchiveOutputStream tar;
  private long samples;

  public WdsWriter(OutputStream out) {
    this.tar = new TarArchiveOutputStream(out);
    tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
  }

  public void write(WdsSample sample) throws IOException {
    if (sample.key().contains(".")) {
      throw new IllegalArgumentException(
          "sample key must not contain a dot: '" + sample.key() + "'");
    }
    for (Map.Entry<String, byte[]> m : sample.members().entrySet()) {
      TarArchiveEntry entry = new TarArchiveEntry(sample.key() + "." + m.getKey());
      entry.setSize(m.getValue().length);
      entry.setModTime(0); // reproducible bytes, so ETags stay the same across identical imports
      tar.putArchiveEntry(entry);
      tar.write(m.getValue());
      tar.closeArchiveEntry();
    }
    samples++;
  }

  public long samples() {
    return samples;
  }

  @Override
  public void close() throws IOException {
    tar.close();
  }
}
