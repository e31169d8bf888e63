package io.flipflow.activities.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * The pre-LN transformer block of CLIP and ViT: {@code x + attn(ln_1(x))}, then {@code x +
 * mlp(ln_2(x))} with a GELU MLP.
 *
 * <p>Written here because DJL's {@code TransformerEncoderBlock} is post-norm with BatchNorm, whose
 * batch statistics would leak between samples of a contrastive batch. Input (B, S, D) and an
 * optional additive attention mask (S, S).
 */
public final class ResidualAttentionBlock extends AbstractBlock {

  private static final byte VERSION = 1;

  private final LayerNorm attentionNorm;
  private final MultiHeadSelfAttention attention;
  private final LayerNorm mlpNorm;
  private final Linear mlpHidden;
  private final Linear mlpOut;

  public ResidualAttentionBlock(int width, int heads, int mlpWidth) {
    super(VERSION);
    // axis(2): normalise over the channel axis only; the default (all non-batch axes) would tie
    // gamma to the sequence length, which changes with every mask ratio.
    this.attentionNorm = addChildBlock("ln_1", LayerNorm.builder().axis(2).build());
    this.attention = addChildBlock("attn", new MultiHeadSelfAttention(width, heads));
    this.mlpNorm = addChildBlock("ln_2", LayerNorm.builder().axis(2).build());
    this.mlpHidden = addChildBlock("mlp_c_fc", Linear.builder().setUnits(mlpWidth).build());
    this.mlpOut = addChildBlock("mlp_c_proj", Linear.builder().setUnits(width).build());
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.get(0);
    NDList attentionInput = new NDList(attentionNorm.forward(store, new NDList(x), training));
    if (inputs.size() > 1) {
      attentionInput.add(inputs.get(1));
    }
    x = x.add(attention.forward(store, attentionInput, training).singletonOrThrow());

    NDArray normed = mlpNorm.forward(store, new NDList(x), training).singletonOrThrow();
    NDArray hidden = MultiHeadSelfAttention.overTokens(mlpHidden, store, normed, training);
    NDArray mlp =
        MultiHeadSelfAttention.overTokens(mlpOut, store, Activation.gelu(hidden), training);
    return new NDList(x.add(mlp));
  }

  /** The block's parameters under OpenCLIP's module names ({@code ln_1}, {@code attn}, ...). */
  void collectParameters(String prefix, java.util.Map<String, ai.djl.nn.Parameter> out) {
    NamedParameters.layerNorm(prefix + "ln_1.", attentionNorm, out);
    attention.collectParameters(prefix + "attn.", out);
    NamedParameters.layerNorm(prefix + "ln_2.", mlpNorm, out);
    NamedParameters.linear(prefix + "mlp.c_fc.", mlpHidden, out);
    NamedParameters.linear(prefix + "mlp.c_proj.", mlpOut, out);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return new Shape[] {inputShapes[0]};
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    Shape x = inputShapes[0];
    attentionNorm.initialize(manager, dataType, x);
    attention.initialize(manager, dataType, x);
    mlpNorm.initialize(manager, dataType, x);
    mlpHidden.initialize(manager, dataType, x);
    Shape hidden = mlpHidden.getOutputShapes(new Shape[] {x})[0];
    mlpOut.initialize(manager, dataType, hidden);
  }
}
