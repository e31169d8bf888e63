package io.flipflow.activities.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;

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

  /**
   * One rank's share of the symmetric InfoNCE of a global batch (OpenCLIP's {@code local_loss}):
   * its own b images against all B texts and its own b texts against all B images, the positive of
   * local row i in column {@code offset + i}. The mean of the ranks' shares is the global loss,
   * from b x B logits per rank instead of B x B.
   *
   * @param images all B image embeddings, rank order; rows {@code [offset, offset + b)} are this
   *     rank's
   * @param texts all B text embeddings, likewise
   */
  public static NDArray localInfoNce(
      NDArray images, NDArray texts, long offset, long b, NDArray logitScale) {
    NDIndex own = new ai.djl.ndarray.index.NDIndex("{}:{}", offset, offset + b);
    NDArray logitsPerImage = images.get(own).matMul(texts.transpose()).mul(logitScale);
    NDArray logitsPerText = texts.get(own).matMul(images.transpose()).mul(logitScale);
    NDArray imageToText = crossEntropyAt(logitsPerImage, offset);
    NDArray textToImage = crossEntropyAt(logitsPerText, offset);
    return Scalars.div(imageToText.add(textToImage), 2);
  }

  /** Mean over rows of -log softmax(row)[i], the positive pair sitting on the diagonal. */
  static NDArray crossEntropyOnDiagonal(NDArray logits) {
    return crossEntropyAt(logits, 0);
  }

  /** Mean over rows i of -log softmax(row)[offset + i]. */
  private static NDArray crossEntropyAt(NDArray logits, long offset) {
    int rows = (int) logits.getShape().get(0);
    NDArray logProbabilities = logits.logSoftmax(1);
    if (offset != 0 || logits.getShape().get(1) != rows) {
      // the positives sit on the diagonal of the square block of columns [offset, offset + rows)
      logProbabilities = logProbabilities.get(new NDIndex(":, {}:{}", offset, offset + rows));
    }
    NDArray diagonal = logits.getManager().eye(rows);
    return Scalars.div(logProbabilities.mul(diagonal).sum(), -rows);
  }
}
