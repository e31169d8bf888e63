package io.flipflow.activities.model;

/** Presets small enough for unit tests (milliseconds per step). */
public final class TestPresets {
  private TestPresets() {}

  /** 32 px, patch 8: 16 patches; width 64, 2 layers per tower; vocab 32, context 8. */
  public static ModelPreset micro() {
    return new ModelPreset("test-micro", 32, 8, 64, 2, 2, 2.0, 32, 32, 8, 64, 2, 2, "eot");
  }
}
