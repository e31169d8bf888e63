package io.flipflow.activities.interop;

import io.flipflow.activities.checkpoint.SafeTensors;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.model.SinCosPositionEmbedding;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * flipflow's weights ({@link ClipModel#namedParameters()}) to and from OpenCLIP's {@code CLIP}
 * state dict. The names are OpenCLIP's module paths in both; what differs:
 *
 * <ul>
 *   <li>attention: flipflow's {@code attn.in_proj.weight}/{@code .bias} is a linear layer of the
 *       packed q, k, v (3D, D), OpenCLIP's {@code nn.MultiheadAttention} the same tensors as {@code
 *       attn.in_proj_weight}/{@code attn.in_proj_bias};
 *   <li>{@code visual.proj} and {@code text_projection} are (D, E) matrices right-multiplied in
 *       OpenCLIP, (E, D) linear weights in flipflow: transposed;
 *   <li>{@code logit_scale} is a scalar (shape []) in OpenCLIP, (1) in flipflow;
 *   <li>a fixed {@code sin_cos_2d} table is a frozen parameter in OpenCLIP's state dict (with the
 *       class token's zero row) and a constant in flipflow: written on export, checked on import.
 * </ul>
 */
public final class OpenClipWeights {
  private OpenClipWeights() {}

  /** OpenCLIP's name for a flipflow weight name. */
  static String openClipName(String flipflow) {
    if (flipflow.endsWith(".attn.in_proj.weight")) {
      return flipflow.replace(".attn.in_proj.weight", ".attn.in_proj_weight");
    }
    if (flipflow.endsWith(".attn.in_proj.bias")) {
      return flipflow.replace(".attn.in_proj.bias", ".attn.in_proj_bias");
    }
    if (flipflow.equals("visual.proj.weight")) {
      return "visual.proj";
    }
    if (flipflow.equals("text_projection.weight")) {
      return "text_projection";
    }
    return flipflow;
  }

  private static boolean transposed(String flipflow) {
    return flipflow.equals("visual.proj.weight") || flipflow.equals("text_projection.weight");
  }

  /** The model's weights as OpenCLIP's state dict (float32, OpenCLIP's names and layouts). */
  public static Map<String, SafeTensors.FloatTensor> toOpenClip(ClipModel model) {
    Map<String, SafeTensors.FloatTensor> out = new LinkedHashMap<>();
    ModelPreset preset = model.preset();
    for (Map.Entry<String, long[]> w : model.weightShapes().entrySet()) {
      String name = w.getKey();
      long[] shape = w.getValue();
      float[] values = model.weightValues(name);
      if (transposed(name)) {
        values = transpose(values, (int) shape[0], (int) shape[1]);
        shape = new long[] {shape[1], shape[0]};
      } else if (name.equals("logit_scale")) {
        shape = new long[0];
      }
      out.put(openClipName(name), new SafeTensors.FloatTensor(shape, values));
      if (name.equals("visual.class_embedding")
          && preset.positionEmbedding().equals(ModelPreset.POS_SIN_COS_2D)) {
        out.put(
            "visual.positional_embedding",
            new SafeTensors.FloatTensor(
                new long[] {preset.visionTokens(), preset.visionWidth()},
                SinCosPositionEmbedding.openClip(preset.gridSize(), preset.visionWidth(), true)));
      }
    }
    return out;
  }

  /**
   * Sets the model's weights from an OpenCLIP state dict file: every tensor the preset needs must
   * be there at OpenCLIP's shape and nothing else; a fixed sin-cos table must be OpenCLIP's.
   * Messages name the file, the key and both shapes.
   */
  public static void fromOpenClip(ClipModel model, SafeTensors.Reader reader) {
    String file = reader.file().toString();
    ModelPreset preset = model.preset();
    Map<String, long[]> ours = model.weightShapes();
    Map<String, String> byOpenClipName = new LinkedHashMap<>();
    ours.keySet().forEach(n -> byOpenClipName.put(openClipName(n), n));
    boolean fixedTable = preset.positionEmbedding().equals(ModelPreset.POS_SIN_COS_2D);
    List<String> unexpected = new ArrayList<>();
    for (String key : reader.entries().keySet()) {
      boolean table = fixedTable && key.equals("visual.positional_embedding");
      if (!byOpenClipName.containsKey(key) && !table && !key.endsWith("attn_mask")) {
        unexpected.add(key);
      }
    }
    if (!unexpected.isEmpty()) {
      throw new IllegalArgumentException(
          file
              + " holds tensors the model of its config does not have (unsupported parts?): "
              + unexpected);
    }
    List<String> missing = new ArrayList<>();
    byOpenClipName.keySet().stream()
        .filter(k -> !reader.entries().containsKey(k))
        .forEach(missing::add);
    if (fixedTable && !reader.entries().containsKey("visual.positional_embedding")) {
      missing.add("visual.positional_embedding");
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(file + " lacks tensors of its config: " + missing);
    }
    for (Map.Entry<String, String> e : byOpenClipName.entrySet()) {
      String key = e.getKey();
      String name = e.getValue();
      long[] want = ours.get(name);
      long[] expected =
          transposed(name)
              ? new long[] {want[1], want[0]}
              : name.equals("logit_scale") ? null : want;
      SafeTensors.Entry entry = reader.entries().get(key);
      float[] values = reader.floats(key);
      if (expected == null) {
        if (entry.elements() != 1) {
          throw new IllegalArgumentException(
              file + ": " + key + " is " + entry.shapeText() + ", expected a scalar");
        }
      } else if (!Arrays.equals(entry.shape(), expected)) {
        throw new IllegalArgumentException(
            file
                + ": "
                + key
                + " is "
                + entry.shapeText()
                + " but the config's model has "
                + Arrays.toString(expected));
      }
      if (transposed(name)) {
        values = transpose(values, (int) expected[0], (int) expected[1]);
      }
      model.setWeight(name, want, values);
    }
    if (fixedTable) {
      SafeTensors.Entry entry = reader.entries().get("visual.positional_embedding");
      float[] table =
          SinCosPositionEmbedding.openClip(preset.gridSize(), preset.visionWidth(), true);
      long[] expected = {preset.visionTokens(), preset.visionWidth()};
      if (!Arrays.equals(entry.shape(), expected)) {
        throw new IllegalArgumentException(
            file
                + ": visual.positional_embedding is "
                + entry.shapeText()
                + " but the config's model has "
                + Arrays.toString(expected));
      }
      float[] got = reader.floats("visual.positional_embedding");
      double worst = 0;
      for (int i = 0; i < table.length; i++) {
        worst = Math.max(worst, Math.abs(got[i] - table[i]));
      }
      if (worst > 1e-5) {
        throw new IllegalArgumentException(
            file
                + ": visual.positional_embedding differs from OpenCLIP's sin_cos_2d table by up to "
                + worst
                + " (pos_embed_type sin_cos_2d is fixed; a trained table would be 'learnable')");
      }
    }
  }

  static float[] transpose(float[] values, int rows, int cols) {
    float[] out = new float[values.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        out[c * rows + r] = values[r * cols + c];
      }
    }
    return out;
  }
}
