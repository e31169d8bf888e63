package io.flipflow.activities.train;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.nn.ParameterList;
import ai.djl.util.Pair;
import io.flipflow.activities.checkpoint.CheckpointState;
import io.flipflow.activities.engine.NativeTorch;
import io.flipflow.activities.model.Scalars;
import java.util.ArrayList;
import java.util.List;

/**
 * Dynamic loss scaling for fp16, as {@code torch.amp.GradScaler} does it: the loss is multiplied by
 * the scale before the backward pass so small float16 gradients do not flush to zero; the gradients
 * are divided by it again and checked for inf/NaN before the optimizer. A step whose gradients
 * overflowed is skipped (its gradients zeroed, AdamW untouched) and the scale halves; after {@value
 * #GROWTH_INTERVAL} clean steps in a row it doubles. Its state goes into every checkpoint, so a
 * resumed run scales as the first attempt did.
 *
 * <p>Hand-written because DJL has no scaler; the two tensor passes (unscale with the overflow
 * check, zeroing) are single native calls.
 */
final class LossScaler {

  /** GradScaler's defaults. */
  static final double INITIAL_SCALE = 65536;

  static final double GROWTH_FACTOR = 2;
  static final double BACKOFF_FACTOR = 0.5;
  static final long GROWTH_INTERVAL = 2000;

  private double scale;
  private long cleanSteps;
  private long skippedSteps;

  LossScaler(double initialScale) {
    if (!(initialScale > 0) || Double.isInfinite(initialScale)) {
      throw new IllegalArgumentException("loss scale must be positive, got " + initialScale);
    }
    this.scale = initialScale;
  }

  /** The state a checkpoint recorded. */
  static LossScaler of(CheckpointState.LossScale state) {
    LossScaler s = new LossScaler(state.scale());
    s.cleanSteps = state.cleanSteps();
    s.skippedSteps = state.skippedSteps();
    return s;
  }

  CheckpointState.LossScale state() {
    return new CheckpointState.LossScale(scale, cleanSteps, skippedSteps);
  }

  double scale() {
    return scale;
  }

  /** Steps skipped for overflowing gradients so far. */
  long skippedSteps() {
    return skippedSteps;
  }

  /** What the backward pass differentiates: the loss times the scale. */
  NDArray scaled(NDArray loss) {
    return Scalars.mul(loss, scale);
  }

  /**
   * Divides every gradient by the scale and updates the scale. Returns false when a gradient
   * overflowed: then the gradients are zeroed and the caller skips this step's update.
   */
  boolean unscale(ParameterList parameters) {
    List<NDArray> arrays = new ArrayList<>();
    for (Pair<String, Parameter> p : parameters) {
      arrays.add(p.getValue().getArray());
    }
    boolean overflow = NativeTorch.unscaleGradients(arrays, 1 / scale);
    if (overflow) {
      NativeTorch.zeroGradients(arrays);
      scale *= BACKOFF_FACTOR;
      cleanSteps = 0;
      skippedSteps++;
      return false;
    }
    if (++cleanSteps == GROWTH_INTERVAL) {
      scale *= GROWTH_FACTOR;
      cleanSteps = 0;
    }
    return true;
  }
}
