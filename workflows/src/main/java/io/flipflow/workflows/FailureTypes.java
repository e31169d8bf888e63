package io.flipflow.workflows;

import java.util.List;

/**
 * Failure type names shared by workflows and activities. An activity that meets bad input throws
 * {@link IllegalArgumentException} or an {@code ApplicationFailure} of type {@link #BAD_INPUT};
 * both are non-retryable in every activity option of this module, so a bad spec or a missing file
 * fails at once instead of burning retries.
 */
public final class FailureTypes {
  /** Bad input found by an activity or by spec validation: retrying cannot help. */
  public static final String BAD_INPUT = "BadInput";

  /** A pipeline stage failed after its retries; the message names the stage. */
  public static final String STAGE_FAILED = "FlipStageFailed";

  /** Exception type names an activity retry policy never retries. */
  public static final List<String> NON_RETRYABLE =
      List.of(IllegalArgumentException.class.getName(), BAD_INPUT);

  private FailureTypes() {}
}
