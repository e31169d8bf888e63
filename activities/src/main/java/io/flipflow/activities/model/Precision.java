package io.flipflow.activities.model;

import io.flipflow.activities.engine.NativeTorch;
import java.util.Locale;

/**
 * The arithmetic precision of training: {@code fp32} (default), or mixed precision by libtorch's
 * autocast as OpenCLIP's {@code --precision amp_bf16} runs it: the towers' matrix products and
 * attention in bfloat16, norms and softmax-sensitive ops in float32 (autocast's own lists), the
 * embeddings cast back to float32 before the loss, and float32 master weights, gradients and AdamW
 * state. {@code fp16} is the same in float16, with the trainer's dynamic loss scaling.
 *
 * <p>DJL 0.36 cannot do this alone (no bfloat16 type, casts that cut the autograd graph, no
 * autocast: {@code DjlPrecisionLimitsTest}); flipflow's native extension can ({@link
 * NativeTorch#autocast}), so mixed precision is available exactly where that library is loaded.
 */
public enum Precision {
  FP32,
  BF16,
  FP16;

  /**
   * {@code fp32}, {@code bf16} or {@code fp16} (null means fp32); anything else names {@code key}.
   */
  public static Precision parse(String value, String key) {
    if (value == null) {
      return FP32;
    }
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "fp32" -> FP32;
      case "bf16" -> BF16;
      case "fp16" -> FP16;
      default ->
          throw new IllegalArgumentException(
              key + ": '" + value + "' is not a precision; write fp32, bf16 or fp16");
    };
  }

  /** The spelling of configs and specs. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The autocast dtype; null for fp32. */
  public NativeTorch.Dtype autocastDtype() {
    return switch (this) {
      case FP32 -> null;
      case BF16 -> NativeTorch.Dtype.BFLOAT16;
      case FP16 -> NativeTorch.Dtype.FLOAT16;
    };
  }

  /** Why training cannot run at this precision on this worker; null when it can. */
  public String unsupportedReason() {
    if (this == FP32) {
      return null;
    }
    if (!NativeTorch.isAvailable()) {
      return label()
          + " runs under libtorch's autocast, which only flipflow's native extension reaches, and"
          + " this worker does not have it ("
          + NativeTorch.unavailableReason()
          + "); use fp32 or build the extension";
    }
    return null;
  }

  /** Parses {@code value} and fails, naming {@code key}, when this worker cannot train at it. */
  public static Precision requireSupported(String value, String key) {
    Precision p = parse(value, key);
    String reason = p.unsupportedReason();
    if (reason != null) {
      throw new IllegalArgumentException(key + ": " + reason);
    }
    return p;
  }
}
