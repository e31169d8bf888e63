package io.flipflow.activities.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

class ClipLossTest {

  /**
   * Images e1, e2, e3; texts e1, e2, (e1 + e3)/sqrt2; scale 2. Logits S = 2 I T^T:
   *
   * <pre>
   *   [2, 0, sqrt2]
   *   [0, 2, 0    ]
   *   [0, 0, sqrt2]
   * </pre>
   *
   * Image->text (rows): ln(e^2 + 1 + e^sqrt2) - 2 = 0.525913, ln(e^2 + 2) - 2 = 0.239545, ln(2 +
   * e^sqrt2) - sqrt2 = 0.396245; mean 0.387234. Text->image (columns): 0.239545, 0.239545, ln(2
   * e^sqrt2 + 1) - sqrt2 = 0.807866; mean 0.428985. Loss = (0.387234 + 0.428985) / 2 = 0.408110.
   */
  @Test
  void handWorkedThreeByThreeExample() {
    float r = (float) (1 / Math.sqrt(2));
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray images = m.create(new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1}, new Shape(3, 3));
      NDArray texts = m.create(new float[] {1, 0, 0, 0, 1, 0, r, 0, r}, new Shape(3, 3));
      NDArray scale = m.create(2f);
      assertEquals(
          0.387234f,
          ClipLoss.crossEntropyOnDiagonal(images.matMul(texts.transpose()).mul(scale)).getFloat(),
          1e-5);
      assertEquals(0.408110f, ClipLoss.symmetricInfoNce(images, texts, scale).getFloat(), 1e-5);
    }
  }

  @Test
  void perfectlySeparatedPairsAtHighScaleGiveNearZeroLoss() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray eye = m.eye(4);
      assertEquals(0f, ClipLoss.symmetricInfoNce(eye, eye, m.create(100f)).getFloat(), 1e-6);
      // equal similarities: ln(B)
      NDArray same = m.ones(new Shape(4, 2)).div(Math.sqrt(2));
      assertEquals(
          (float) Math.log(4),
          ClipLoss.symmetricInfoNce(same, same, m.create(10f)).getFloat(),
          1e-5);
    }
  }

  /**
   * The 3 x 3 example above split into rank shares of one row: each share is that row's
   * image-to-text and text-to-image terms, (0.525913 + 0.239545) / 2 for row 0, so the shares' mean
   * is the whole loss.
   */
  @Test
  void theMeanOfTheRanksLocalSharesIsTheGlobalLoss() {
    float r = (float) (1 / Math.sqrt(2));
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray images = m.create(new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1}, new Shape(3, 3));
      NDArray texts = m.create(new float[] {1, 0, 0, 0, 1, 0, r, 0, r}, new Shape(3, 3));
      NDArray scale = m.create(2f);
      float[] shares = new float[3];
      for (int rank = 0; rank < 3; rank++) {
        shares[rank] = ClipLoss.localInfoNce(images, texts, rank, 1, scale).getFloat();
      }
      assertEquals((0.525913f + 0.239545f) / 2, shares[0], 1e-5);
      assertEquals((0.396245f + 0.807866f) / 2, shares[2], 1e-5);
      assertEquals(0.408110f, (shares[0] + shares[1] + shares[2]) / 3, 1e-5);
      NDArray random = m.randomNormal(new Shape(8, 4));
      NDArray other = m.randomNormal(new Shape(8, 4));
      float global = ClipLoss.symmetricInfoNce(random, other, scale).getFloat();
      float half =
          (ClipLoss.localInfoNce(random, other, 0, 4, scale).getFloat()
                  + ClipLoss.localInfoNce(random, other, 4, 4, scale).getFloat())
              / 2;
      assertEquals(global, half, 1e-5);
    }
  }
}
