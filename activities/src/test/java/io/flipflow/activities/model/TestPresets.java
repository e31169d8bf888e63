package io.flipflow.activities.model;

/** Presets small enough for unit tests (milliseconds per step). */
public final class TestPresets {
  private TestPresets() {}

  /** 32 px, patch 8: 16 patches; width 64, 2 layers per tower; vocab 32, context 8. */
  public static ModelPreset micro() {
    return new ModelPreset("test-micro", 32, 8, 64, 2, 2, 2.0, 32, 32, 8, 64, 2, 2, "eot");
  }

  /**
   * {@link #micro()} in the shipped, exportable (FLIP) form: class token, fixed sin_cos_2d, average
   * pooling, text pooled at {@code eosId}.
   */
  public static ModelPreset microFlipForm(int eosId) {
    return new ModelPreset(
        "micro-flip",
        32,
        8,
        64,
        2,
        2,
        2.0,
        32,
        32,
        8,
        64,
        2,
        2,
        "eos",
        eosId,
        true,
        "sin_cos_2d",
        false,
        "avg");
  }
}
