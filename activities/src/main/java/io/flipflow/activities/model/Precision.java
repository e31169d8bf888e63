package io.flipflow.activities.model;

import java.util.Locale;

/**
 * The arithmetic precision of training: {@code fp32} (default), or {@code bf16} mixed precision
 * (matrix products in bfloat16; norms, softmax, loss, master weights and AdamW in float32).
 *
 * <p>bf16 is refused on the engine this project runs, DJL 0.36 with PyTorch 2.7.1, for two reasons
 * found by trying it: the JNI layer maps no DJL data type to torch's bfloat16 (creating or casting
 * to {@code DataType.BFLOAT16} ends in {@code std::terminate} and takes the JVM down), and every
 * DJL cast ({@code toType}, also {@code toDevice}) runs under a no-grad guard, so a hand-made
 * autocast (cast weights and inputs, multiply, cast back) would cut every gradient; even the
 * float16 cast that does exist leaves the weights with zero gradients. DJL has no autocast API
 * either. A later DJL whose casts keep the autograd graph and know bfloat16 would make {@link
 * #BF16} a matter of casting around the matrix products ({@code DjlPrecisionLimitsTest} watches for
 * that).
 */
public enum Precision {
  FP32,
  BF16;

  /** {@code fp32} or {@code bf16} (null means fp32); anything else names {@code key}. */
  public static Precision parse(String value, String key) {
    if (value == null) {
      return FP32;
    }
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "fp32" -> FP32;
      case "bf16" -> BF16;
      default ->
          throw new IllegalArgumentException(
              key + ": '" + value + "' is not a precision; write fp32 or bf16");
    };
  }

  /** The spelling of configs and specs. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Why this engine cannot train at this precision; null when it can. */
  public String unsupportedReason() {
    if (this == FP32) {
      return null;
    }
    return "bf16 is not available on DJL 0.36's PyTorch engine: its native layer has no bfloat16"
        + " type and its casts drop gradients, so there is no way to run matrix products in"
        + " bfloat16 and still train; use fp32";
  }

  /** Parses {@code value} and fails, naming {@code key}, when this engine cannot train at it. */
  public static Precision requireSupported(String value, String key) {
    Precision p = parse(value, key);
    String reason = p.unsupportedReason();
    if (reason != null) {
      throw new IllegalArgumentException(key + ": " + reason);
    }
    return p;
  }
}
