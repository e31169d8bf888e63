package io.flipflow.workflows.spec;

/** What a study holds equal across its runs. */
public enum StudyBudget {
  /** Every run trains for its schedule length in samples (the paper's tables at equal epochs). */
  EQUAL_SAMPLES,
  /**
   * Every run pretrains for the same wall-clock seconds (the paper's accuracy-vs-time view): a
   * masked run sees more samples in the same time.
   */
  EQUAL_WALL_CLOCK
}
