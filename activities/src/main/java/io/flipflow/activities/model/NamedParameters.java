package io.flipflow.activities.model;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import java.util.Map;

/**
 * The names a model's parameters have outside DJL (in safetensors checkpoints, and as the starting
 * point of the OpenCLIP mapping): the module path as OpenCLIP writes it, with each tensor in DJL's
 * own layout ({@code .weight} (out, in) for every linear map, {@code .weight}/{@code .bias} for
 * LayerNorm's gamma/beta). DJL's own parameter ids depend on child order and are not stable.
 */
final class NamedParameters {
  private NamedParameters() {}

  static void linear(String prefix, Block linear, Map<String, Parameter> out) {
    put(out, prefix + "weight", linear.getParameters().get("weight"));
    Parameter bias = linear.getParameters().get("bias");
    if (bias != null) {
      put(out, prefix + "bias", bias);
    }
  }

  static void layerNorm(String prefix, Block norm, Map<String, Parameter> out) {
    put(out, prefix + "weight", norm.getParameters().get("gamma"));
    put(out, prefix + "bias", norm.getParameters().get("beta"));
  }

  static void put(Map<String, Parameter> out, String name, Parameter p) {
    if (p == null) {
      throw new IllegalStateException("no parameter for " + name);
    }
    if (out.put(name, p) != null) {
      throw new IllegalStateException("two parameters named " + name);
    }
  }
}
