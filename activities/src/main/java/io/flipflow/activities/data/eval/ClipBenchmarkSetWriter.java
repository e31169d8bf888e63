package io.flipflow.activities.data.eval;

import io.flipflow.activities.data.image.ImagePreprocessor;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.webdataset.WdsSample;
import io.flipflow.activities.data.webdataset.WdsWriter;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * A zero-shot classification set in the layout CLIP_benchmark reads as {@code wds/NAME} with {@code
 * --dataset_root FOLDER} (its {@code build_wds_dataset}):
 *
 * <pre>
 * FOLDER/classnames.txt                       one class name per line, in class-id order
 * FOLDER/zeroshot_classification_templates.txt one template per line, {c} = the class name
 * FOLDER/dataset_type.txt                     classification
 * FOLDER/test/nshards.txt                     N
 * FOLDER/test/0.tar ... (N-1).tar             KEY.png (RGB), KEY.cls (the class id)
 * </pre>
 *
 * Images are written as flipflow's own preprocessing sees them at their size: transparent pixels
 * composited on white (OpenCLIP's transform would drop alpha instead, and emoji are RGBA), centre
 * cropped to a square. For a model whose image size is that size (64 px emoji and the tiny preset),
 * both tools then feed the model the same pixels; at other sizes each resizes with its own bicubic.
 */
public final class ClipBenchmarkSetWriter {
  /** Where {@link EvalSetWriter} puts this layout: a subfolder of each classification set. */
  public static final String FOLDER = "clip_benchmark";

  public static final String SPLIT = "test";

  private ClipBenchmarkSetWriter() {}

  /** Writes the set under {@code folder}; returns the number of samples. */
  public static long writeClassification(
      S3Store store,
      S3Uri folder,
      List<String> classes,
      List<String> templates,
      List<EvalSetWriter.Item> items,
      int samplesPerShard) {
    for (String c : classes) {
      if (c.contains("\n")) {
        throw new IllegalArgumentException("class name '" + c + "' spans lines");
      }
    }
    for (String t : templates) {
      if (!t.contains("{c}") || t.replace("{c}", "").contains("{") || t.contains("\n")) {
        throw new IllegalArgumentException(
            "template '" + t + "' is not a one-line str.format template with {c} only");
      }
    }
    S3Uri split = folder.resolve(SPLIT);
    int shards = 0;
    try {
      for (int from = 0; from < items.size(); from += samplesPerShard) {
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        try (WdsWriter writer = new WdsWriter(tar)) {
          for (EvalSetWriter.Item it :
              items.subList(from, Math.min(items.size(), from + samplesPerShard))) {
            Map<String, byte[]> members = new LinkedHashMap<>();
            members.put("png", flattened(it));
            members.put("cls", Integer.toString(it.classId()).getBytes(StandardCharsets.UTF_8));
            writer.write(new WdsSample(it.key(), members));
          }
        }
        store.put(split.resolve(shards + ".tar"), tar.toByteArray());
        shards++;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("writing the CLIP_benchmark layout of " + folder, e);
    }
    store.put(split.resolve("nshards.txt"), utf8(shards + "\n"));
    store.put(folder.resolve("classnames.txt"), utf8(String.join("\n", classes) + "\n"));
    store.put(
        folder.resolve("zeroshot_classification_templates.txt"),
        utf8(String.join("\n", templates) + "\n"));
    store.put(folder.resolve("dataset_type.txt"), utf8("classification\n"));
    return items.size();
  }

  /** The item's image as flipflow preprocesses it at its own (shorter) side, as an RGB PNG. */
  static byte[] flattened(EvalSetWriter.Item it) throws IOException {
    BufferedImage img = ImagePreprocessor.decode(it.png());
    int side = Math.min(img.getWidth(), img.getHeight());
    byte[] chw = new ImagePreprocessor(side).toChw(img);
    BufferedImage rgb = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
    int plane = side * side;
    for (int i = 0; i < plane; i++) {
      int r = chw[i] & 255;
      int g = chw[plane + i] & 255;
      int b = chw[2 * plane + i] & 255;
      rgb.setRGB(i % side, i / side, (r << 16) | (g << 8) | b);
    }
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    if (!ImageIO.write(rgb, "png", png)) {
      throw new IOException("no PNG writer");
    }
    return png.toByteArray();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
