package io.flipflow.workflows.activities;

import io.flipflow.workflows.plan.PresetFacts;
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
  /** The spec's problems against its preset, and the preset's sizes the stages need. */
  @ActivityMethod
  PresetFacts presetFacts(RunSpec spec);

  /** The problems alone, as pipelines started before version {@code stage-requests} ask. */
  @Deprecated
  @ActivityMethod
  List<String> checkAgainstPreset(RunSpec spec);
}
