package io.flipflow.activities.data.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.activities.data.image.ImagePreprocessor;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.webdataset.WdsReader;
import io.flipflow.activities.data.webdataset.WdsSample;
import io.flipflow.activities.testing.S3Fixture;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * Every classification set {@code flipflow data import} writes is also written in CLIP_benchmark's
 * webdataset layout (issue 16, item 5), with the pixels flipflow's own preprocessing gives.
 */
public class ClipBenchmarkLayoutTest {

  /** An RGBA picture with soft (half-transparent) edges, like an emoji. */
  public static byte[] rgbaPng(int size, Random random) throws Exception {
    BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_ARGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    for (int s = 0; s < 3; s++) {
      g.setColor(
          new Color(
              random.nextInt(256),
              random.nextInt(256),
              random.nextInt(256),
              128 + random.nextInt(128)));
      int x = random.nextInt(size / 2);
      int y = random.nextInt(size / 2);
      g.fillOval(x, y, size / 4 + random.nextInt(size / 2), size / 4 + random.nextInt(size / 2));
    }
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "png", out);
    return out.toByteArray();
  }

  @Test
  void classificationSetsGetTheClipBenchmarkLayoutWithFlipflowsPixels() throws Exception {
    Random random = new Random(4);
    List<EvalSetWriter.Item> items = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      items.add(new EvalSetWriter.Item("k" + i, rgbaPng(64, random), "c" + i % 3, i % 3, Map.of()));
    }
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store()) {
      store.createBucket("sets");
      S3Uri folder = S3Uri.parse("s3://sets/eval/shapes/unseen/");
      EvalSetWriter.writeClassification(
          store,
          folder,
          "shapes",
          "unseen",
          List.of("cat", "dog", "red heart"),
          List.of("an emoji of {c}.", "{c}"),
          items,
          3);
      S3Uri cb = folder.resolve("clip_benchmark");
      assertEquals("cat\ndog\nred heart\n", text(store, cb.resolve("classnames.txt")));
      assertEquals(
          "an emoji of {c}.\n{c}\n",
          text(store, cb.resolve("zeroshot_classification_templates.txt")));
      assertEquals("classification\n", text(store, cb.resolve("dataset_type.txt")));
      assertEquals("3\n", text(store, cb.resolve("test/nshards.txt")));
      ImagePreprocessor flipflow = new ImagePreprocessor(64);
      int n = 0;
      for (int shard = 0; shard < 3; shard++) {
        try (WdsReader reader =
            new WdsReader(
                new ByteArrayInputStream(store.getBytes(cb.resolve("test/" + shard + ".tar"))))) {
          WdsSample s;
          while ((s = reader.next()) != null) {
            EvalSetWriter.Item original = items.get(n++);
            assertEquals(original.key(), s.key());
            assertEquals(
                Integer.toString(original.classId()),
                new String(s.members().get("cls"), StandardCharsets.UTF_8));
            BufferedImage written = ImagePreprocessor.decode(s.members().get("png"));
            assertTrue(!written.getColorModel().hasAlpha(), "CLIP_benchmark's copy is RGB");
            // what flipflow's evaluation feeds the model, from either file
            assertArrayEquals(
                flipflow.toChw(ImagePreprocessor.decode(original.png())),
                flipflow.toChw(written),
                "pixels of " + original.key());
          }
        }
      }
      assertEquals(7, n);
      // flipflow's own evaluation passes the subfolder by: it has no eval.json
      assertEquals(
          1,
          store.list(folder).stream().filter(o -> o.uri().fileName().equals("eval.json")).count());
    }
  }

  private static String text(S3Store store, S3Uri uri) {
    return new String(store.getBytes(uri), StandardCharsets.UTF_8);
  }
}
