package io.flipflow.activities.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;

/**
 * FLIP's image tower: patchify, add fixed sin-cos positions, keep a random subset of tokens
 * (training), pre-LN blocks, global average pooling, LayerNorm, linear projection.
 *
 * <p>Inputs: images (B, 3, H, W) and, optionally, kept-token indices (B, L') from {@link
 * PatchMasking}; without them every patch is encoded. Output: (B, embedDim), not normalised.
 */
public final class VisionTransformer extends AbstractBlock {

  private static final byte VERSION = 1;

  private final ModelPreset preset;
  private final Conv2d patchEmbedding;
  private final List<ResidualAttentionBlock> blocks = new ArrayList<>();
  private final LayerNorm finalNorm;
  private final Linear projection;
  private NDArray positionEmbedding; // constant (L, D), created at initialisation

  public VisionTransformer(ModelPreset preset) {
    super(VERSION);
    this.preset = preset;
    int patch = preset.patchSize();
    // kernel = stride = patch: each output pixel is the linear embedding of one patch
    this.patchEmbedding =
        addChildBlock(
            "conv1",
            Conv2d.builder()
                .setKernelShape(new Shape(patch, patch))
                .optStride(new Shape(patch, patch))
                .setFilters(preset.visionWidth())
                .optBias(false)
                .build());
    for (int i = 0; i < preset.visionLayers(); i++) {
      blocks.add(
          addChildBlock(
              String.format("block%02d", i),
              new ResidualAttentionBlock(
                  preset.visionWidth(), preset.visionHeads(), preset.visionMlpWidth())));
    }
    this.finalNorm = addChildBlock("ln_post", LayerNorm.builder().axis(1).build());
    this.projection =
        addChildBlock("proj", Linear.builder().setUnits(preset.embedDim()).optBias(false).build());
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray images = inputs.get(0);
    long batch = images.getShape().get(0);
    long width = preset.visionWidth();
    long numPatches = preset.numPatches();

    NDArray x = patchEmbedding.forward(store, new NDList(images), training).singletonOrThrow();
    x = x.reshape(batch, width, numPatches).transpose(0, 2, 1); // (B, L, D)
    x = x.add(positionEmbedding); // step array as receiver: the result stays in the step's manager
    if (inputs.size() > 1) {
      x = PatchMasking.keep(x, inputs.get(1)); // (B, L', D), before the first block
    }
    for (ResidualAttentionBlock block : blocks) {
      x = block.forward(store, new NDList(x), training).singletonOrThrow();
    }
    NDArray pooled = x.mean(new int[] {1}); // global average pooling over the (kept) tokens
    pooled = finalNorm.forward(store, new NDList(pooled), training).singletonOrThrow();
    return projection.forward(store, new NDList(pooled), training);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return new Shape[] {new Shape(inputShapes[0].get(0), preset.embedDim())};
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    long batch = inputShapes[0].get(0);
    int width = preset.visionWidth();
    patchEmbedding.initialize(manager, dataType, inputShapes[0]);
    Shape tokens = new Shape(batch, preset.numPatches(), width);
    for (ResidualAttentionBlock block : blocks) {
      block.initialize(manager, dataType, tokens);
    }
    Shape pooled = new Shape(batch, width);
    finalNorm.initialize(manager, dataType, pooled);
    projection.initialize(manager, dataType, pooled);
    if (positionEmbedding == null) {
      positionEmbedding =
          manager.create(
              SinCosPositionEmbedding.create(preset.gridSize(), width),
              new Shape(preset.numPatches(), width));
      positionEmbedding.setName("visual_sincos_position_embedding");
    }
  }
}
