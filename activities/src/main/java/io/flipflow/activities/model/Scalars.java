package io.flipflow.activities.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Arithmetic with a constant on the differentiable path. DJL's {@code x.mul(0.5f)} (and {@code
 * div}, {@code maximum}, {@code minimum} with a Number) wraps the number in a CPU tensor over a
 * Java direct buffer without copying it ({@code from_blob}) and closes it right after the op;
 * autograd keeps that tensor for the backward pass, and once the garbage collector frees the buffer
 * the backward reads whatever the memory holds by then. Measured: after a few collections, the
 * gradient of {@code x.mul(0.5f) .mul(x)} was -3.9e37 instead of 1, {@code ScalarsTest} with DJL's
 * ops read 0 instead of 0.5, and a data-parallel rank with a 64 MB heap trained differently from
 * run to run. The constants here are libtorch's own 0-d tensors ({@code full}), which live as long
 * as autograd needs them; like a Python scalar, a 0-d float32 keeps a bfloat16 operand bfloat16.
 */
public final class Scalars {

  private Scalars() {}

  /** {@code x * value}. */
  public static NDArray mul(NDArray x, double value) {
    return x.mul(of(x, value));
  }

  /** {@code x / value}. */
  public static NDArray div(NDArray x, double value) {
    return x.div(of(x, value));
  }

  /** {@code max(x, value)} element-wise. */
  public static NDArray maximum(NDArray x, double value) {
    return x.maximum(of(x, value));
  }

  /** {@code min(x, value)} element-wise. */
  public static NDArray minimum(NDArray x, double value) {
    return x.minimum(of(x, value));
  }

  /** A float32 0-d tensor of libtorch's on x's device, in x's manager. */
  private static NDArray of(NDArray x, double value) {
    return x.getManager().full(new Shape(), (float) value).toDevice(x.getDevice(), false);
  }
}
