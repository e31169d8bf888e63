package io.flipflow.activities.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.flipflow.activities.engine.NativeTorch;

/**
 * Multi-head self-attention as in CLIP ({@code nn.MultiheadAttention}): one fused q/k/v projection,
 * scaled dot products per head, an optional additive mask, an output projection.
 *
 * <p>Hand-written because DJL's {@code ScaledDotProductAttentionBlock} is built for BERT (separate
 * q/k/v blocks, dropout, its own mask convention); this is ten lines of matMuls and keeps CLIP's
 * parameter layout. Input (B, S, D), optional mask (S, S) added to the logits (0 or a large
 * negative number); output (B, S, D). Works for any S, so masked (shorter) sequences pass through.
 * With {@link Attention#FUSED} the same function runs as libtorch's {@code
 * scaled_dot_product_attention} (the mask passed as its additive {@code attn_mask}).
 */
public final class MultiHeadSelfAttention extends AbstractBlock {

  private static final byte VERSION = 1;

  private final int width;
  private final int heads;
  private final Linear inProjection;
  private final Linear outProjection;
  private Attention attention = Attention.EXPLICIT;

  public MultiHeadSelfAttention(int width, int heads) {
    super(VERSION);
    if (width % heads != 0) {
      throw new IllegalArgumentException("width " + width + " is not divisible by heads " + heads);
    }
    this.width = width;
    this.heads = heads;
    this.inProjection = addChildBlock("in_proj", Linear.builder().setUnits(3L * width).build());
    this.outProjection = addChildBlock("out_proj", Linear.builder().setUnits(width).build());
  }

  @Override
  protected NDList forwardInternal(
      ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
    NDArray x = inputs.get(0);
    NDArray mask = inputs.size() > 1 ? inputs.get(1) : null;
    long batch = x.getShape().get(0);
    long seq = x.getShape().get(1);
    long headDim = width / heads;

    // (B, S, 3D) -> (3, B, H, S, Dh)
    NDArray qkv =
        overTokens(inProjection, store, x, training)
            .reshape(batch, seq, 3, heads, headDim)
            .transpose(2, 0, 3, 1, 4);
    NDList split = qkv.split(3, 0);
    NDArray q = split.get(0).squeeze(0);
    NDArray k = split.get(1).squeeze(0);
    NDArray v = split.get(2).squeeze(0);

    NDArray attended; // (B, H, S, Dh)
    if (attention == Attention.FUSED) {
      attended = NativeTorch.scaledDotProductAttention(q, k, v, mask, false, q.getManager());
    } else {
      NDArray logits = Scalars.mul(q, 1.0 / Math.sqrt(headDim)).matMul(k.transpose(0, 1, 3, 2));
      if (mask != null) {
        logits = logits.add(mask); // (B, H, S, S)
      }
      if (logits.getDataType() != DataType.FLOAT32) {
        // under autocast: softmax in float32, as CUDA autocast runs it (and DJL's softmax cannot
        // name bfloat16: it would abort the JVM)
        logits = NativeTorch.cast(logits, NativeTorch.Dtype.FLOAT32);
      }
      attended = logits.softmax(-1).matMul(v);
    }
    NDArray merged = attended.transpose(0, 2, 1, 3).reshape(batch, seq, width);
    return new NDList(overTokens(outProjection, store, merged, training));
  }

  /** How this block computes attention from now on. */
  void setAttention(Attention attention) {
    this.attention = attention;
  }

  /**
   * {@code linear} applied to every token of (B, S, D), through a (B*S, D) view: libtorch's C++
   * {@code linear} fuses the bias into the matrix product ({@code addmm}) only for 2-D input, and
   * for 3-D input adds it in a separate pass over the output. Input must be contiguous (a view).
   */
  static NDArray overTokens(Linear linear, ParameterStore store, NDArray x, boolean training) {
    Shape shape = x.getShape();
    long batch = shape.get(0);
    long seq = shape.get(1);
    NDArray flat = x.reshape(batch * seq, shape.get(2));
    NDArray out = linear.forward(store, new NDList(flat), training).singletonOrThrow();
    return out.reshape(batch, seq, out.getShape().get(1));
  }

  /** {@code in_proj.weight} (3D, D: q, k, v stacked, heads contiguous), bias, {@code out_proj}. */
  void collectParameters(String prefix, java.util.Map<String, ai.djl.nn.Parameter> out) {
    NamedParameters.linear(prefix + "in_proj.", inProjection, out);
    NamedParameters.linear(prefix + "out_proj.", outProjection, out);
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return new Shape[] {inputShapes[0]};
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    inProjection.initialize(manager, dataType, inputShapes[0]);
    outProjection.initialize(manager, dataType, inputShapes[0]);
  }
}
