package io.flipflow.activities.model;

import ai.djl.ndarray.NDArray;

/**
 * Symmetric InfoNCE (CLIP, OpenCLIP {@code ClipLoss}): logits = scale * I T^T over the batch; the
 * matching pair of row i is column i. Cross-entropy over rows (image -> text) and over columns
 * (text -> image), averaged.
 *
 * <p>The cross-entropy is written out (log-softmax, take the diagonal) rather than DJL's {@code
 * SoftmaxCrossEntropyLoss} because its label picking relies on ops the PyTorch engine does not
 * implement uniformly, and the diagonal form states what the loss is.
 */
public final class ClipLoss {

  private ClipLoss() {}

  /**
   * @param imageEmbeddings (B, E), L2-normalised
   * @param textEmbeddings (B, E), L2-normalised, row i paired with image i
   * @param logitScale the exponentiated scale, a scalar array (already exp'd and clamped)
   * @return the scalar loss
   */
  public static NDArray symmetricInfoNce(
      NDArray imageEmbeddings, NDArray textEmbeddings, NDArray logitScale) {
    NDArray logitsPerImage = imageEmbeddings.matMul(textEmbeddings.transpose()).mul(logitScale);
    NDArray logitsPerText = logitsPerImage.transpose();
    NDArray imageToText = crossEntropyOnDiagonal(logitsPerImage);
    NDArray textToImage = crossEntropyOnDiagonal(logitsPerText);
    return Scalars.div(imageToText.add(textToImage), 2);
  }

  /** Mean over rows of -log softmax(row)[i], the positive pair sitting on the diagonal. */
  static NDArray crossEntropyOnDiagonal(NDArray logits) {
    int batch = (int) logits.getShape().get(0);
    NDArray diagonal = logits.getManager().eye(batch);
    return Scalars.div(logits.logSoftmax(1).mul(diagonal).sum(), -batch);
  }
}
