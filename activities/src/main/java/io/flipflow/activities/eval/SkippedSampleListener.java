package io.flipflow.activities.eval;

import org.slf4j.LoggerFactory;

/**
 * Told about every sample an evaluation-set reader skips (an undecodable image, a caption with no
 * image, ...), so the caller can record it (e.g. in {@code data_issues}) and count it.
 */
@FunctionalInterface
public interface SkippedSampleListener {

  /**
   * @param entry the file or tar member ({@code shard.tar!key.png})
   * @param reason why it was skipped
   */
  void skipped(String entry, String reason);

  /** Logs each skip as a warning. */
  static SkippedSampleListener logging() {
    return (entry, reason) ->
        LoggerFactory.getLogger(SkippedSampleListener.class)
            .warn("skipped evaluation sample {}: {}", entry, reason);
  }
}
