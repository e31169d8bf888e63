package io.flipflow.workflows.spec;

import java.util.List;

/**
 * FLIP's short unmasked tuning after masked pretraining (mask ratio 0, from the pretraining
 * checkpoint).
 *
 * @param enabled false skips tuning and the evaluation after it; default true
 * @param sampleFraction samples to train, as a fraction of pretraining's samples seen; default 0.05
 *     (the paper tunes for a few percent of the schedule)
 * @param lrFactor tuning learning rate as a fraction of pretraining's; default 0.1
 */
public record UnmaskedTuning(Boolean enabled, Double sampleFraction, Double lrFactor) {
  public static final double DEFAULT_SAMPLE_FRACTION = 0.05;
  public static final double DEFAULT_LR_FACTOR = 0.1;

  public UnmaskedTuning {
    enabled = enabled == null ? Boolean.TRUE : enabled;
    sampleFraction = sampleFraction == null ? DEFAULT_SAMPLE_FRACTION : sampleFraction;
    lrFactor = lrFactor == null ? DEFAULT_LR_FACTOR : lrFactor;
  }

  public static UnmaskedTuning defaults() {
    return new UnmaskedTuning(null, null, null);
  }

  public static UnmaskedTuning disabled() {
    return new UnmaskedTuning(false, null, null);
  }

  void validate(String prefix, List<String> errors) {
    if (!(sampleFraction > 0 && sampleFraction <= 1)) {
      errors.add(prefix + "sampleFraction: must be in (0, 1], got " + sampleFraction);
    }
    if (!(lrFactor > 0 && lrFactor <= 1)) {
      errors.add(prefix + "lrFactor: must be in (0, 1], got " + lrFactor);
    }
  }
}
