package io.flipflow.activities.eval;

import java.util.List;

/**
 * What zero-shot evaluation needs from a trained CLIP/FLIP model ({@link ClipImageTextEncoder}, an
 * adapter over its towers); the evaluator depends on nothing else of the model.
 *
 * <p>Images are uint8 arrays, one per image, laid out CHW (channel, row, column) with 3 channels
 * and {@link #imageSize()} x {@link #imageSize()} pixels, exactly as the one image preprocessing
 * (the data's {@code ImagePreprocessor}) makes them for staging: the encoder applies the same
 * normalisation as training does. Both methods are called with at most the evaluator's batch size
 * inputs at a time and must return L2-normalised embeddings, one per input, in input order.
 * Implementations release their native memory (DJL NDManagers) per call.
 */
public interface ImageTextEncoder {

  /** Side in pixels of the square images {@link #encodeImages} expects. */
  int imageSize();

  /**
   * Embeds a batch of images.
   *
   * @param images uint8 CHW arrays of length {@code 3 * imageSize() * imageSize()}
   * @param maskRatio fraction of image patches dropped per image, {@code 0 <= maskRatio < 1}; 0
   *     means the full image (the default at inference), r > 0 keeps {@code round((1 - r) * L)}
   *     random patches per image as in FLIP's training
   * @param seed the random patch selection of this call is a function of the seed only (ignored
   *     when {@code maskRatio == 0})
   * @return one L2-normalised embedding per image
   */
  float[][] encodeImages(List<byte[]> images, double maskRatio, long seed);

  /** Embeds a batch of texts (tokenized by the model's own tokenizer): L2-normalised, one each. */
  float[][] encodeTexts(List<String> texts);
}
