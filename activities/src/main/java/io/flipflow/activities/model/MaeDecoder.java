package io.flipflow.activities.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * FLIP's Table 1f decoder, MAE's (He et al. 2022) at the preset's scale: the encoder's visible
 * patch tokens are normalised and embedded at the decoder's width, a shared learned mask token
 * stands in for every dropped patch, fixed 2-D sin-cos positions tell each token where it is,
 * pre-LN blocks mix them, and a linear head predicts each dropped patch's {@code patch * patch * 3}
 * pixels.
 *
 * <p>Inputs: visible patch tokens (B, L', D) (no class token), their patch indices (B, L') and the
 * dropped patches' indices (B, L - L'). Output: predicted pixels of the dropped patches (B, L - L',
 * p*p*3), in the order of the dropped indices. Since positions are added before the blocks, the
 * tokens need no un-shuffling: attention does not care about their order.
 */
public final class MaeDecoder extends AbstractBlock {

  private static final byte VERSION = 1;

  private final ModelPreset preset;
  private final int width;
  private final LayerNorm inputNorm;
  private final Linear embed;
  private final Parameter maskToken;
  private final List<ResidualAttentionBlock> blocks = new ArrayList<>();
  private final LayerNorm outputNorm;
  private final Linear pixels;
  private NDArray positions; // (L, width), fixed, created at initialisation

  public MaeDecoder(ModelPreset preset, int layers, int width) {
    super(VERSION);
    String problem = widthProblem(preset, width);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    int heads = preset.visionHeads();
    this.preset = preset;
    this.width = width;
    this.inputNorm = addChildBlock("norm_in", LayerNorm.builder().axis(2).build());
    this.embed = addChildBlock("embed", Linear.builder().setUnits(width).build());
    for (int i = 0; i < layers; i++) {
      blocks.add(
          addChildBlock(
              String.format("block%02d", i), new ResidualAttentionBlock(width, heads, 4 * width)));
    }
    this.outputNorm = addChildBlock("norm_out", LayerNorm.builder().axis(2).build());
    int patch = preset.patchSize();
    this.pixels = addChildBlock("pred", Linear.builder().setUnits(patch * patch * 3L).build());
    this.maskToken =
        addParameter(
            Parameter.builder()
                .setName("mask_token")
                .setType(Parameter.Type.OTHER)
                .optShape(new Shape(width))
                .optInitializer(new NormalInitializer(0.02f)) // MAE's init
                .build());
  }

  /**
   * Why the decoder cannot be {@code width} wide for {@code preset} (its heads must split it, and
   * the sin-cos table needs a multiple of 4); null when it can.
   */
  public static String widthProblem(ModelPreset preset, int width) {
    int heads = preset.visionHeads();
    if (width % heads == 0 && width % 4 == 0) {
      return null;
    }
    return "reconstruction.decoderWidth: "
        + width
        + " must be a multiple of 4 and of preset "
        + preset.name()
        + "'s "
        + heads
        + " heads";
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray visible = inputs.get(0);
    NDArray keep = inputs.get(1);
    NDArray dropped = inputs.get(2);
    long batch = visible.getShape().get(0);
    long numDropped = dropped.getShape().get(1);
    NDArray table = positions.expandDims(0).broadcast(new Shape(batch, preset.numPatches(), width));

    NDArray x = inputNorm.forward(store, new NDList(visible), training).singletonOrThrow();
    x = MultiHeadSelfAttention.overTokens(embed, store, x, training);
    x = x.add(PatchMasking.keep(table, keep));
    NDArray token = store.getValue(maskToken, visible.getDevice(), training);
    NDArray masks =
        token
            .reshape(1, 1, width)
            .broadcast(new Shape(batch, numDropped, width))
            .add(PatchMasking.keep(table, dropped));
    x = x.concat(masks, 1); // (B, L, width): visible first, then the dropped patches
    for (ResidualAttentionBlock block : blocks) {
      x = block.forward(store, new NDList(x), training).singletonOrThrow();
    }
    x = outputNorm.forward(store, new NDList(x), training).singletonOrThrow();
    long numVisible = keep.getShape().get(1);
    NDArray droppedTokens = x.get(":, " + numVisible + ":, :");
    return new NDList(MultiHeadSelfAttention.overTokens(pixels, store, droppedTokens, training));
  }

  /**
   * Parameters under {@code decoder.}: {@code decoder.embed.weight}, {@code decoder.mask_token}.
   */
  void collectParameters(String prefix, Map<String, Parameter> out) {
    NamedParameters.layerNorm(prefix + "norm_in.", inputNorm, out);
    NamedParameters.linear(prefix + "embed.", embed, out);
    NamedParameters.put(out, prefix + "mask_token", maskToken);
    for (int i = 0; i < blocks.size(); i++) {
      blocks.get(i).collectParameters(prefix + "blocks." + i + ".", out);
    }
    NamedParameters.layerNorm(prefix + "norm_out.", outputNorm, out);
    NamedParameters.linear(prefix + "pred.", pixels, out);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    int patch = preset.patchSize();
    return new Shape[] {
      new Shape(inputShapes[0].get(0), inputShapes[2].get(1), (long) patch * patch * 3)
    };
  }

  /** Input shapes: visible tokens (B, L', D), kept (B, L'), dropped (B, L - L'). */
  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    long batch = inputShapes[0].get(0);
    Shape visible = inputShapes[0];
    inputNorm.initialize(manager, dataType, visible);
    embed.initialize(manager, dataType, new Shape(batch, preset.visionWidth()));
    Shape tokens = new Shape(batch, preset.numPatches(), width);
    for (ResidualAttentionBlock block : blocks) {
      block.initialize(manager, dataType, tokens);
    }
    outputNorm.initialize(manager, dataType, tokens);
    pixels.initialize(manager, dataType, new Shape(batch, width));
    if (positions == null) {
      positions =
          manager.create(
              SinCosPositionEmbedding.create(preset.gridSize(), width),
              new Shape(preset.numPatches(), width));
      positions.setName("decoder_sincos_position_embedding");
    }
  }

  /**
   * Each image cut into its patches, (B, 3, H, W) to (B, L, p*p*3), patch index {@code row * grid +
   * col} as the encoder's patch embedding numbers them.
   */
  static NDArray patchify(NDArray images, int patch) {
    Shape s = images.getShape();
    long batch = s.get(0);
    long grid = s.get(2) / patch;
    return images
        .reshape(batch, 3, grid, patch, grid, patch)
        .transpose(0, 2, 4, 3, 5, 1)
        .reshape(batch, grid * grid, (long) patch * patch * 3);
  }

  /** MAE's target with {@code norm_pix_loss}: each patch's pixels standardised on their own. */
  static NDArray normalisedPatches(NDArray patches) {
    NDArray mean = patches.mean(new int[] {2}, true);
    NDArray variance = patches.sub(mean).square().mean(new int[] {2}, true);
    return patches.sub(mean).div(variance.add(1e-6f).sqrt());
  }
}
