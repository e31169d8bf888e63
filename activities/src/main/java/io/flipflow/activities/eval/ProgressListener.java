package io.flipflow.activities.eval;

/**
 * Called after every batch, e.g. to heartbeat from the evaluation activity; a {@link
 * RuntimeException} it throws (a cancellation) ends the evaluation there.
 */
@FunctionalInterface
public interface ProgressListener {

  /**
   * @param phase what is being embedded: {@code "class prompts"}, {@code "images"}, {@code
   *     "captions"}
   * @param done inputs embedded so far in this phase
   * @param total inputs of this phase
   */
  void progress(String phase, long done, long total);

  static ProgressListener none() {
    return (phase, done, total) -> {};
  }
}
