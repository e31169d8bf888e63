package io.flipflow.activities.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flipflow.activities.data.Fixtures;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.StageData;
import io.flipflow.activities.data.staging.StagedDataReader;
import io.flipflow.activities.data.staging.StagedManifest;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.data.webdataset.WdsSample;
import io.flipflow.activities.testing.S3Fixture;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model is evaluated on the pixels it was trained on: the same source image, staged for training
 * and preprocessed for evaluation, gives the same bytes. The image is one where interpolations
 * differ (a non-square, half-transparent gradient larger than the target size).
 */
class SamePixelsTest {
  @TempDir Path work;

  @Test
  void stagingAndEvaluationSeeTheSamePixels() throws Exception {
    byte[] png = Fixtures.encode(gradient(37, 23), "png");
    byte[] staged;
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store()) {
      store.createBucket("pixels");
      S3Uri b = S3Uri.parse("s3://pixels/");
      Map<String, byte[]> members = new LinkedHashMap<>();
      members.put("png", png);
      members.put("txt", "a red square".getBytes(StandardCharsets.UTF_8));
      store.put(b.resolve("wds/00000.tar"), Fixtures.tar(List.of(new WdsSample("k0", members))));
      store.put(b.resolve("tokenizer.json"), WordLevelVocabulary.build(List.of("a red square")));
      StagedManifest m =
          new StageData(store, work.resolve("stage"))
              .stage(
                  StageData.Request.of(
                      b + "wds/00000.tar", b.resolve("staged"), b.resolve("tokenizer.json"), 8, 6),
                  new StageData.Listener() {});
      try (StagedDataReader reader =
          new StagedDataReader(store, m, work.resolve("cache"), 1, 0, 1, 1)) {
        staged = reader.next().pixels();
      }
    }

    List<byte[]> seen = new ArrayList<>();
    ImageTextEncoder capturing =
        new ImageTextEncoder() {
          @Override
          public int imageSize() {
            return 8;
          }

          @Override
          public float[][] encodeImages(List<byte[]> images, double maskRatio, long seed) {
            seen.addAll(images);
            return images.stream().map(i -> new float[] {1, 0}).toArray(float[][]::new);
          }

          @Override
          public float[][] encodeTexts(List<String> texts) {
            throw new UnsupportedOperationException("no texts here");
          }
        };
    new ZeroShotEvaluator(capturing, 4)
        .encodeImages(List.of(ImageRef.ofBytes("k0.png", png)), List.of(InferenceView.full()));
    assertEquals(1, seen.size());
    assertEquals(3 * 8 * 8, staged.length);
    assertArrayEquals(staged, seen.get(0), "evaluation preprocessed other pixels than staging");
  }

  private static BufferedImage gradient(int w, int h) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int a = (x + y) % 2 == 0 ? 255 : 128;
        img.setRGB(x, y, (a << 24) | ((x * 7) % 256 << 16) | ((y * 11) % 256 << 8) | (x * y % 256));
      }
    }
    return img;
  }
}
