package io.flipflow.activities.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;

/**
 * CLIP's text tower: token embedding + learned positions, causal pre-LN blocks, final LayerNorm,
 * pooling at the end-of-text token, linear projection.
 *
 * <p>Input: token ids (B, T), T = contextLength, padded with id 0 after the end-of-text token; with
 * text masking ({@link TextMasking}) also their positions (B, T'), T' &lt;= T, and only those
 * tokens. Pooling follows the preset: at the first {@code eosId} ({@code "eos"}, OpenCLIP's), at
 * the highest id ({@code "argmax"}), at the first token, or at {@code count(tokens != 0) - 1}
 * ({@code "eot"}, flipflow's first rule, kept for old checkpoints). Output: (B, embedDim), not
 * normalised.
 */
public final class TextTransformer extends AbstractBlock {

  private static final byte VERSION = 1;

  /** Added to attention logits of future positions; finite so 0 * it stays 0. */
  private static final float MASKED = -1e9f;

  private final ModelPreset preset;
  private final Parameter tokenEmbedding;
  private final Parameter positionEmbedding;
  private final List<ResidualAttentionBlock> blocks = new ArrayList<>();
  private final LayerNorm finalNorm;
  private final Linear projection;

  public TextTransformer(ModelPreset preset) {
    super(VERSION);
    this.preset = preset;
    int width = preset.textWidth();
    // Parameter.Type.OTHER has no default initializer; std as in OpenCLIP's init_parameters
    this.tokenEmbedding =
        addParameter(
            Parameter.builder()
                .setName("token_embedding")
                .setType(Parameter.Type.OTHER)
                .optShape(new Shape(preset.vocabSize(), width))
                .optInitializer(new NormalInitializer(0.02f))
                .build());
    this.positionEmbedding =
        addParameter(
            Parameter.builder()
                .setName("positional_embedding")
                .setType(Parameter.Type.OTHER)
                .optShape(new Shape(preset.contextLength(), width))
                .optInitializer(new NormalInitializer(0.01f))
                .build());
    for (int i = 0; i < preset.textLayers(); i++) {
      blocks.add(
          addChildBlock(
              String.format("block%02d", i),
              new ResidualAttentionBlock(width, preset.textHeads(), preset.textMlpWidth())));
    }
    this.finalNorm = addChildBlock("ln_final", LayerNorm.builder().axis(2).build());
    this.projection =
        addChildBlock(
            "text_projection", Linear.builder().setUnits(preset.embedDim()).optBias(false).build());
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray tokens = inputs.get(0).toType(DataType.INT64, false);
    NDArray positionIds = inputs.size() > 1 ? inputs.get(1).toType(DataType.INT64, false) : null;
    long batch = tokens.getShape().get(0);
    long length = tokens.getShape().get(1);
    if (positionIds == null
        ? length != preset.contextLength()
        : length > preset.contextLength() || !positionIds.getShape().equals(tokens.getShape())) {
      throw new IllegalArgumentException(
          "tokens: expected length "
              + preset.contextLength()
              + (positionIds == null ? "" : " or less, with positions of the same shape")
              + ", got "
              + tokens.getShape());
    }
    NDArray table = store.getValue(tokenEmbedding, tokens.getDevice(), training);
    NDArray positions = store.getValue(positionEmbedding, tokens.getDevice(), training);
    NDArray x = Embedding.embedding(tokens, table, SparseFormat.DENSE).singletonOrThrow();
    x =
        positionIds == null
            ? x.add(positions)
            : x.add(
                Embedding.embedding(positionIds, positions, SparseFormat.DENSE).singletonOrThrow());

    NDArray mask = causalMask(tokens.getManager(), length);
    for (ResidualAttentionBlock block : blocks) {
      x = block.forward(store, new NDList(x, mask), training).singletonOrThrow();
    }
    x = finalNorm.forward(store, new NDList(x), training).singletonOrThrow();

    NDArray pooled =
        x.gather(
                poolIndex(tokens)
                    .reshape(batch, 1, 1)
                    .broadcast(new Shape(batch, 1, preset.textWidth())),
                1)
            .squeeze(1);
    return projection.forward(store, new NDList(pooled), training);
  }

  /**
   * The pooled position per row, int64 (B): as OpenCLIP's {@code text_global_pool} for "eos" (the
   * first eosId; 0 when a row has none, as its argmax over a row of zeros gives) and "argmax" (the
   * first highest id); {@code count(tokens != 0) - 1} for "eot".
   */
  NDArray poolIndex(NDArray tokens) {
    switch (preset.textPooling()) {
      case "eos":
        return tokens.eq(preset.eosId()).toType(DataType.INT32, false).argMax(1);
      case "argmax":
        return tokens.argMax(1);
      default:
        return tokens.neq(0).toType(DataType.INT64, false).sum(new int[] {1}).sub(1).maximum(0);
    }
  }

  /** Parameters by their names outside DJL (see {@link NamedParameters}); no prefix: CLIP's. */
  void collectParameters(java.util.Map<String, Parameter> out) {
    NamedParameters.put(out, "token_embedding.weight", tokenEmbedding);
    NamedParameters.put(out, "positional_embedding", positionEmbedding);
    for (int i = 0; i < blocks.size(); i++) {
      blocks.get(i).collectParameters("transformer.resblocks." + i + ".", out);
    }
    NamedParameters.layerNorm("ln_final.", finalNorm, out);
    NamedParameters.linear("text_projection.", projection, out);
  }

  /** (T, T): 0 on and below the diagonal, a large negative number above (no peeking ahead). */
  static NDArray causalMask(NDManager manager, long length) {
    NDArray rows = manager.arange(0, (int) length, 1, DataType.INT64).reshape(length, 1);
    NDArray cols = manager.arange(0, (int) length, 1, DataType.INT64).reshape(1, length);
    return cols.gt(rows).toType(DataType.FLOAT32, false).mul(MASKED);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return new Shape[] {new Shape(inputShapes[0].get(0), preset.embedDim())};
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    long batch = inputShapes[0].get(0);
    Shape hidden = new Shape(batch, preset.contextLength(), preset.textWidth());
    for (ResidualAttentionBlock block : blocks) {
      block.initialize(manager, dataType, hidden);
    }
    finalNorm.initialize(manager, dataType, hidden);
    projection.initialize(manager, dataType, new Shape(batch, preset.textWidth()));
  }
}
