package io.flipflow.activities.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Evaluation phases after the first decode nothing (issue 19: faster evaluation). */
class PixelCacheTest {
  static List<ImageRef> counted(int n, AtomicInteger decodes) {
    List<ImageRef> refs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ImageRef png =
          ImageRef.ofBytes(
              "00000.tar!e" + i + ".png",
              io.flipflow.activities.data.Fixtures.png(
                  8,
                  8,
                  io.flipflow.activities.data.Fixtures.colour(
                      io.flipflow.activities.data.Fixtures.COLOURS.get(i % 4))));
      refs.add(
          new ImageRef() {
            @Override
            public String name() {
              return png.name();
            }

            @Override
            public BufferedImage decode() throws IOException {
              decodes.incrementAndGet();
              return png.decode();
            }
          });
    }
    return refs;
  }

  @Test
  void aSecondEvaluationOfTheSameSetDecodesNothingAndSeesTheSamePixels() {
    AtomicInteger decodes = new AtomicInteger();
    List<ImageRef> images = counted(40, decodes);
    PixelCache cache = new PixelCache(1 << 20);
    var full = List.of(InferenceView.full());
    float[][] first =
        new ZeroShotEvaluator(
                new Fixtures.ColourEncoder(),
                16,
                ProgressListener.none(),
                cache,
                "set-a@etags1",
                EmbeddingMemo.none())
            .encodeImages(images, full)
            .get(0);
    assertEquals(40, decodes.get());
    float[][] again =
        new ZeroShotEvaluator(
                new Fixtures.ColourEncoder(),
                16,
                ProgressListener.none(),
                cache,
                "set-a@etags1",
                EmbeddingMemo.none())
            .encodeImages(images, full)
            .get(0);
    assertEquals(40, decodes.get(), "the tuned phase decodes nothing");
    for (int i = 0; i < 40; i++) {
      assertArrayEquals(first[i], again[i]);
    }
    new ZeroShotEvaluator(
            new Fixtures.ColourEncoder(),
            16,
            ProgressListener.none(),
            cache,
            "set-a@etags2",
            EmbeddingMemo.none())
        .encodeImages(images, full);
    assertEquals(80, decodes.get(), "a set whose content changed is decoded again");
  }

  @Test
  void theCacheKeepsToItsBudgetDroppingTheLeastRecentlyUsed() {
    PixelCache cache = new PixelCache(300);
    cache.put("a", new byte[100]);
    cache.put("b", new byte[100]);
    cache.put("c", new byte[100]);
    cache.get("a");
    cache.put("d", new byte[100]);
    assertTrue(cache.bytes() <= 300);
    assertEquals(null, cache.get("b"), "b was the least recently used");
    assertTrue(cache.get("a") != null && cache.get("d") != null);
  }
}
