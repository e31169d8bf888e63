package io.flipflow.activities.model;

import io.flipflow.activities.engine.NativeTorch;
import java.util.Locale;

/**
 * How the transformer blocks compute {@code softmax(q k^T / sqrt(d) + mask) v}: written out as
 * three tensor ops ({@code explicit}, the default), or as libtorch's {@code
 * scaled_dot_product_attention} ({@code fused}: the same function, fewer passes over memory and no
 * (S, S) score tensor kept for the backward where a flash kernel applies). Fused needs flipflow's
 * native extension.
 */
public enum Attention {
  EXPLICIT,
  FUSED;

  /** {@code explicit} or {@code fused} (null means explicit); anything else names {@code key}. */
  public static Attention parse(String value, String key) {
    if (value == null) {
      return EXPLICIT;
    }
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "explicit" -> EXPLICIT;
      case "fused" -> FUSED;
      default ->
          throw new IllegalArgumentException(
              key + ": '" + value + "' is not an attention; write explicit or fused");
    };
  }

  /** The spelling of configs and specs. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Why this worker cannot compute attention this way; null when it can. */
  public String unsupportedReason() {
    if (this == EXPLICIT || NativeTorch.isAvailable()) {
      return null;
    }
    return "fused attention is libtorch's scaled_dot_product_attention, which only flipflow's"
        + " native extension reaches, and this worker does not have it ("
        + NativeTorch.unavailableReason()
        + "); use explicit or build the extension";
  }

  /** Parses {@code value} and fails, naming {@code key}, when this worker cannot do it. */
  public static Attention requireSupported(String value, String key) {
    Attention a = parse(value, key);
    String reason = a.unsupportedReason();
    if (reason != null) {
      throw new IllegalArgumentException(key + ": " + reason);
    }
    return a;
  }
}
