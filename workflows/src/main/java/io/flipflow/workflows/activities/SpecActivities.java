package io.flipflow.workflows.activities;

import io.flipflow.workflows.spec.RunSpec;
import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityMethod;
import java.util.List;

/**
 * Checks of a spec that need what only workers know (the model presets), run as a local activity on
 * the control worker when a pipeline starts, so a bad preset or image size is refused before any
 * work.
 */
@ActivityInterface
public interface SpecActivities {
  /** Every problem of the spec against its preset, each naming its field; empty when fine. */
  @ActivityMethod
  List<String> checkAgainstPreset(RunSpec spec);
}
