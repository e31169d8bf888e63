package io.flipflow.workflows.spec;

import java.util.List;
import java.util.Locale;

/**
 * FLIP's short unmasked tuning after masked pretraining (mask ratio 0, from the pretraining
 * checkpoint).
 *
 * @param enabled false skips tuning and the evaluation after it; default true
 * @param sampleFraction samples to train, as a fraction of pretraining's samples seen; default 0.05
 *     (the paper tunes for a few percent of the schedule)
 * @param lrFactor tuning learning rate as a fraction of pretraining's; default 0.1
 * @param optimizer {@code carried} (default since 2026-12-01): the AdamW moments and
 *     bias-correction count of pretraining's last step go on, so the first steps are not a fresh
 *     Adam's full-size sign steps; {@code fresh}: AdamW starts again from zero moments (the default
 *     before; specs from then that leave the field out trained so). In the tuning ablation ({@code
 *     config/studies/emoji-tuning-ablation.json}, README) carried lost 0.3 points on average where
 *     fresh lost 1.8
 * @param warmupFraction the tuning stage warms up over this fraction of its steps (rounded down);
 *     default 0.1
 */
public record UnmaskedTuning(
    Boolean enabled,
    Double sampleFraction,
    Double lrFactor,
    String optimizer,
    Double warmupFraction) {
  public static final double DEFAULT_SAMPLE_FRACTION = 0.05;
  public static final double DEFAULT_LR_FACTOR = 0.1;
  public static final String FRESH = "fresh";
  public static final String CARRIED = "carried";
  public static final double DEFAULT_WARMUP_FRACTION = 0.1;
  public static final String DEFAULT_OPTIMIZER = CARRIED;

  public UnmaskedTuning {
    enabled = enabled == null ? Boolean.TRUE : enabled;
    sampleFraction = sampleFraction == null ? DEFAULT_SAMPLE_FRACTION : sampleFraction;
    lrFactor = lrFactor == null ? DEFAULT_LR_FACTOR : lrFactor;
    optimizer = optimizer == null ? DEFAULT_OPTIMIZER : optimizer.toLowerCase(Locale.ROOT);
    warmupFraction = warmupFraction == null ? DEFAULT_WARMUP_FRACTION : warmupFraction;
  }

  /** The three settings specs had before the optimizer and warmup were named. */
  public UnmaskedTuning(Boolean enabled, Double sampleFraction, Double lrFactor) {
    this(enabled, sampleFraction, lrFactor, null, null);
  }

  public static UnmaskedTuning defaults() {
    return new UnmaskedTuning(null, null, null);
  }

  public static UnmaskedTuning disabled() {
    return new UnmaskedTuning(false, null, null);
  }

  /** Whether tuning goes on with pretraining's optimizer state. */
  public boolean carriesOptimizer() {
    return CARRIED.equals(optimizer);
  }

  /** The tuning stage's warmup steps, for a stage of {@code steps}. */
  public long warmupSteps(long steps) {
    // the epsilon keeps 30 * 0.1 at 3 steps, not 2 from 2.9999999999999996
    return (long) Math.floor(steps * warmupFraction + 1e-9);
  }

  /** Short and exact, for run ids: {@code fresh-lr0.1-f5-w10} (fraction and warmup in percent). */
  public String label() {
    if (!enabled) {
      return "off";
    }
    return optimizer
        + "-lr"
        + plain(lrFactor)
        + "-f"
        + plain(sampleFraction * 100)
        + "-w"
        + plain(warmupFraction * 100);
  }

  private static String plain(double value) {
    return java.math.BigDecimal.valueOf(value)
        .round(new java.math.MathContext(6))
        .stripTrailingZeros()
        .toPlainString();
  }

  void validate(String prefix, List<String> errors) {
    if (!(sampleFraction > 0 && sampleFraction <= 1)) {
      errors.add(prefix + "sampleFraction: must be in (0, 1], got " + sampleFraction);
    }
    if (!(lrFactor > 0 && lrFactor <= 1)) {
      errors.add(prefix + "lrFactor: must be in (0, 1], got " + lrFactor);
    }
    if (!FRESH.equals(optimizer) && !CARRIED.equals(optimizer)) {
      errors.add(prefix + "optimizer: must be 'fresh' or 'carried', got '" + optimizer + "'");
    }
    if (!(warmupFraction >= 0 && warmupFraction <= 1)) {
      errors.add(prefix + "warmupFraction: must be in [0, 1], got " + warmupFraction);
    }
  }
}
