package io.flipflow.workflows.spec;

import java.util.List;

/**
 * FLIP's Table 1f: an MAE-style decoder reconstructs the normalised pixels of the masked patches
 * from the image encoder's visible tokens, and its loss is added to the contrastive one. The paper
 * finds no gain (-0.2 / -0.3 points); flipflow offers it to check that. Training only: the decoder
 * is kept beside the checkpoint's model ({@code decoder.safetensors}), never in it, so evaluation,
 * tuning and export see the plain CLIP model.
 *
 * @param weight the reconstruction loss's weight in the total loss; must be positive (leave the
 *     field out for none)
 * @param decoderLayers transformer blocks of the decoder; default 2 (MAE uses 8 at ViT-L scale)
 * @param decoderWidth the decoder's width; default half the image encoder's, with its head count
 */
public record Reconstruction(Double weight, Integer decoderLayers, Integer decoderWidth) {
  public static final int DEFAULT_DECODER_LAYERS = 2;
  public static final int MAX_DECODER_LAYERS = 24;
  public static final int MAX_DECODER_WIDTH = 4096;

  public Reconstruction {
    decoderLayers = decoderLayers == null ? DEFAULT_DECODER_LAYERS : decoderLayers;
  }

  /** The decoder's width for an image encoder of {@code visionWidth}. */
  public int decoderWidthFor(int visionWidth) {
    return decoderWidth != null ? decoderWidth : visionWidth / 2;
  }

  void validate(String prefix, List<String> errors) {
    if (weight == null || !(weight > 0) || weight.isInfinite()) {
      errors.add(
          prefix + "weight: must be positive (leave reconstruction out for none), got " + weight);
    }
    if (decoderLayers < 1 || decoderLayers > MAX_DECODER_LAYERS) {
      errors.add(
          prefix
              + "decoderLayers: must be in [1, "
              + MAX_DECODER_LAYERS
              + "], got "
              + decoderLayers);
    }
    if (decoderWidth != null && (decoderWidth < 8 || decoderWidth > MAX_DECODER_WIDTH)) {
      errors.add(
          prefix + "decoderWidth: must be in [8, " + MAX_DECODER_WIDTH + "], got " + decoderWidth);
    }
  }
}
