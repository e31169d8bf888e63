package io.flipflow.activities.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * FLIP's image tower: patchify, add positions, keep a random subset of patch tokens (training),
 * prepend the class token (if the preset has one; never masked), an optional LayerNorm, pre-LN
 * blocks, pooling (the patch tokens' mean, or the class token), LayerNorm, linear projection. With
 * a class token, {@code sin_cos_2d} or {@code learnable} positions and the pooling of the preset,
 * this is OpenCLIP's {@code VisionTransformer} with {@code patch_dropout}, op for op.
 *
 * <p>Inputs: images (B, 3, H, W) and, optionally, kept-token indices (B, L') over the patches from
 * {@link PatchMasking}; without them every patch is encoded. Output: (B, embedDim), not normalised.
 *
 * <p>Blocks and parameters that a preset does not ask for are not created, so the presets of old
 * checkpoints build exactly the block tree (and DJL parameter order) they were saved from.
 */
public final class VisionTransformer extends AbstractBlock {

  private static final byte VERSION = 1;

  private final ModelPreset preset;
  private final Conv2d patchEmbedding;
  private final List<ResidualAttentionBlock> blocks = new ArrayList<>();
  private final LayerNorm finalNorm;
  private final Linear projection;
  private final Parameter classEmbedding; // null without a class token
  private final Parameter learnedPositions; // null with a fixed table
  private final LayerNorm preNorm; // null without ln_pre
  private NDArray patchPositions; // fixed tables only: (L, D), created at initialisation

  public VisionTransformer(ModelPreset preset) {
    super(VERSION);
    this.preset = preset;
    int patch = preset.patchSize();
    int width = preset.visionWidth();
    // kernel = stride = patch: each output pixel is the linear embedding of one patch
    this.patchEmbedding =
        addChildBlock(
            "conv1",
            Conv2d.builder()
                .setKernelShape(new Shape(patch, patch))
                .optStride(new Shape(patch, patch))
                .setFilters(width)
                .optBias(false)
                .build());
    for (int i = 0; i < preset.visionLayers(); i++) {
      blocks.add(
          addChildBlock(
              String.format("block%02d", i),
              new ResidualAttentionBlock(width, preset.visionHeads(), preset.visionMlpWidth())));
    }
    this.finalNorm = addChildBlock("ln_post", LayerNorm.builder().axis(1).build());
    this.projection =
        addChildBlock("proj", Linear.builder().setUnits(preset.embedDim()).optBias(false).build());
    // added after the blocks above, and only when asked for: legacy presets keep their layout
    float scale = (float) Math.pow(width, -0.5); // OpenCLIP's init for both
    this.classEmbedding =
        preset.hasClassToken()
            ? addParameter(
                Parameter.builder()
                    .setName("class_embedding")
                    .setType(Parameter.Type.OTHER)
                    .optShape(new Shape(width))
                    .optInitializer(new NormalInitializer(scale))
                    .build())
            : null;
    this.learnedPositions =
        preset.positionEmbedding().equals(ModelPreset.POS_LEARNABLE)
            ? addParameter(
                Parameter.builder()
                    .setName("positional_embedding")
                    .setType(Parameter.Type.OTHER)
                    .optShape(new Shape(preset.visionTokens(), width))
                    .optInitializer(new NormalInitializer(scale))
                    .build())
            : null;
    this.preNorm =
        preset.hasLnPre() ? addChildBlock("ln_pre", LayerNorm.builder().axis(2).build()) : null;
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray tokens =
        encode(store, inputs.get(0), inputs.size() > 1 ? inputs.get(1) : null, training);
    return new NDList(embed(store, tokens, training));
  }

  /**
   * The tokens after the last block, (B, [1 +] L', D): the class token first where the preset has
   * one, then the kept patches in {@code keep}'s order (every patch when {@code keep} is null).
   */
  NDArray encode(ParameterStore store, NDArray images, NDArray keep, boolean training) {
    long batch = images.getShape().get(0);
    long width = preset.visionWidth();
    long numPatches = preset.numPatches();

    NDArray x = patchEmbedding.forward(store, new NDList(images), training).singletonOrThrow();
    x = x.reshape(batch, width, numPatches).transpose(0, 2, 1); // (B, L, D)
    NDArray learned =
        learnedPositions == null
            ? null
            : store.getValue(learnedPositions, images.getDevice(), training);
    if (learned == null) {
      x = x.add(patchPositions); // step array as receiver: the result stays in the step's manager
    } else {
      x = x.add(classEmbedding == null ? learned : learned.get("1:"));
    }
    if (keep != null) {
      x = PatchMasking.keep(x, keep); // (B, L', D), before the first block
    }
    if (classEmbedding != null) {
      NDArray token = store.getValue(classEmbedding, images.getDevice(), training);
      if (learned != null) {
        token = token.add(learned.get(0)); // a fixed table's class row is zero
      }
      NDArray tokens = token.reshape(1, 1, width).broadcast(new Shape(batch, 1, width));
      x = tokens.concat(x, 1); // (B, 1 + L', D); OpenCLIP's order, the class token first
    }
    if (preNorm != null) {
      x = preNorm.forward(store, new NDList(x), training).singletonOrThrow();
    }
    for (ResidualAttentionBlock block : blocks) {
      x = block.forward(store, new NDList(x), training).singletonOrThrow();
    }
    return x;
  }

  /** Whether {@link #encode}'s first token is the class token. */
  boolean hasClassToken() {
    return classEmbedding != null;
  }

  /** The image embedding (B, embedDim) of {@link #encode}'s tokens: pool, LayerNorm, project. */
  NDArray embed(ParameterStore store, NDArray x, boolean training) {
    NDArray pooled;
    if (preset.visionPooling().equals("tok")) {
      pooled = x.get(":, 0, :");
    } else {
      // global average pooling over the (kept) patch tokens, the class token left out
      pooled = (classEmbedding == null ? x : x.get(":, 1:, :")).mean(new int[] {1});
    }
    pooled = finalNorm.forward(store, new NDList(pooled), training).singletonOrThrow();
    return projection.forward(store, new NDList(pooled), training).singletonOrThrow();
  }

  /** Parameters by their names outside DJL, under {@code prefix} (see {@link NamedParameters}). */
  void collectParameters(String prefix, Map<String, Parameter> out) {
    NamedParameters.put(out, prefix + "conv1.weight", patchEmbedding.getParameters().get("weight"));
    if (classEmbedding != null) {
      NamedParameters.put(out, prefix + "class_embedding", classEmbedding);
    }
    if (learnedPositions != null) {
      NamedParameters.put(out, prefix + "positional_embedding", learnedPositions);
    }
    if (preNorm != null) {
      NamedParameters.layerNorm(prefix + "ln_pre.", preNorm, out);
    }
    for (int i = 0; i < blocks.size(); i++) {
      blocks.get(i).collectParameters(prefix + "transformer.resblocks." + i + ".", out);
    }
    NamedParameters.layerNorm(prefix + "ln_post.", finalNorm, out);
    NamedParameters.linear(prefix + "proj.", projection, out);
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
    Shape tokens = new Shape(batch, preset.visionTokens(), width);
    if (preNorm != null) {
      preNorm.initialize(manager, dataType, tokens);
    }
    for (ResidualAttentionBlock block : blocks) {
      block.initialize(manager, dataType, tokens);
    }
    Shape pooled = new Shape(batch, width);
    finalNorm.initialize(manager, dataType, pooled);
    projection.initialize(manager, dataType, pooled);
    if (learnedPositions == null && patchPositions == null) {
      float[] table =
          preset.positionEmbedding().equals(ModelPreset.POS_SIN_COS_2D)
              // the class row (zeros) is not needed: a zero adds nothing
              ? SinCosPositionEmbedding.openClip(preset.gridSize(), width, false)
              : SinCosPositionEmbedding.create(preset.gridSize(), width);
      patchPositions = manager.create(table, new Shape(preset.numPatches(), width));
      patchPositions.setName("visual_sincos_position_embedding");
    }
  }
}
