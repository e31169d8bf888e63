package io.flipflow.activities.data;

import static org.junit.jupiter.api.Assertions.*;

import com.google.gson.JsonParser;
import io.flipflow.activities.data.eval.EvalSetWriter;
import io.flipflow.activities.data.fashion.FashionMnistImporter;
import io.flipflow.activities.data.fashion.IdxFile;
import io.flipflow.activities.data.image.ImagePreprocessor;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.data.webdataset.WdsReader;
import io.flipflow.activities.data.webdataset.WdsSample;
import io.flipflow.activities.testing.S3Fixture;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FashionMnistImporterTest {
  static S3Fixture s3;
  static S3Store store;
  @TempDir Path dir;

  @BeforeAll
  static void start() {
    s3 = S3Fixture.start();
    store = s3.store();
    store.createBucket("fashion");
  }

  @AfterAll
  static void stop() throws Exception {
    store.close();
    s3.close();
  }

  /** Writes a gzip IDX file: magic 0x000008NN, sizes, bytes. */
  static void writeIdx(Path file, int[] dims, byte[] data) throws IOException {
    try (OutputStream raw = Files.newOutputStream(file);
        DataOutputStream out = new DataOutputStream(new GZIPOutputStream(raw))) {
      out.writeInt(0x00000800 | dims.length);
      for (int d : dims) out.writeInt(d);
      out.write(data);
    }
  }

  /** Image i is uniformly grey at 10*i + label; label = i % 10. */
  static void writeFixture(Path dir, String prefix, int n) throws IOException {
    byte[] images = new byte[n * 28 * 28];
    byte[] labels = new byte[n];
    for (int i = 0; i < n; i++) {
      labels[i] = (byte) (i % 10);
      java.util.Arrays.fill(images, i * 784, (i + 1) * 784, (byte) (10 * i + i % 10));
    }
    writeIdx(dir.resolve(prefix + "-images-idx3-ubyte.gz"), new int[] {n, 28, 28}, images);
    writeIdx(dir.resolve(prefix + "-labels-idx1-ubyte.gz"), new int[] {n}, labels);
  }

  @Test
  void importsGeneratedIdxFilesIntoShardsEvalSetAndTokenizer() throws Exception {
    writeFixture(dir, "train", 23);
    writeFixture(dir, "t10k", 12);
    var r =
        new FashionMnistImporter(store)
            .importFrom(
                dir, S3Uri.parse("s3://fashion/gen"), new FashionMnistImporter.Options(10, 20, 0));
    assertEquals(20, r.trainSamples(), "the training limit is applied");
    assertEquals(12, r.evalSamples());
    assertEquals("s3://fashion/gen/train/{00000..00001}.tar", r.trainShards());
    assertTrue(store.exists(r.train().resolve("sizes.json")));
    assertTrue(store.exists(r.train().resolve("00001_stats.json")));

    List<WdsSample> train = read(store.resolveShards(S3Uri.parse(r.trainShards())));
    assertEquals(20, train.size());
    for (int i = 0; i < train.size(); i++) {
      WdsSample s = train.get(i);
      assertEquals(String.format("train-%05d", i), s.key());
      assertEquals(List.of("png", "txt", "json"), new ArrayList<>(s.members().keySet()));
      String cls = FashionMnistImporter.CLASSES.get(i % 10);
      String caption = s.caption().orElseThrow();
      assertTrue(
          FashionMnistImporter.TEMPLATES.stream()
              .anyMatch(t -> EvalSetWriter.prompt(t, cls).equals(caption)),
          caption);
      var json = JsonParser.parseString(s.json().orElseThrow()).getAsJsonObject();
      assertEquals(i % 10, json.get("class").getAsInt());
      assertEquals(cls, json.get("class_name").getAsString());
      BufferedImage img = ImagePreprocessor.decode(s.members().get("png"));
      assertEquals(28, img.getWidth());
      int grey = 10 * i + i % 10;
      assertEquals((grey << 16) | (grey << 8) | grey, img.getRGB(13, 7) & 0xffffff);
    }

    S3Uri eval = r.evalSet();
    assertEquals(
        FashionMnistImporter.CLASSES, strings(store.getBytes(eval.resolve("classes.json"))));
    assertEquals(
        FashionMnistImporter.TEMPLATES, strings(store.getBytes(eval.resolve("templates.json"))));
    var desc =
        JsonParser.parseString(new String(store.getBytes(eval.resolve("eval.json"))))
            .getAsJsonObject();
    assertEquals("all", desc.get("split").getAsString());
    assertEquals(EvalSetWriter.CLASSIFICATION, desc.get("task").getAsString());
    assertEquals(12, desc.get("count").getAsInt());
    List<WdsSample> evalSamples = read(store.resolveShards(eval));
    assertEquals(12, evalSamples.size());
    assertEquals(
        "Sandal",
        JsonParser.parseString(evalSamples.get(5).json().orElseThrow())
            .getAsJsonObject()
            .get("class_name")
            .getAsString());

    try (CaptionTokenizer tok = CaptionTokenizer.load(store.getBytes(r.tokenizer()), 16, "f")) {
      for (String c : FashionMnistImporter.CLASSES)
        for (String t : FashionMnistImporter.TEMPLATES)
          assertEquals(List.of(), tok.unknownWords(EvalSetWriter.prompt(t, c)), c);
      assertEquals(List.of("jacket"), tok.unknownWords("a photo of a jacket."));
    }
  }

  @Test
  void badIdxFilesNameTheFile() throws Exception {
    writeFixture(dir, "train", 5);
    writeFixture(dir, "t10k", 3);
    // labels for 4 images only
    writeIdx(dir.resolve("t10k-labels-idx1-ubyte.gz"), new int[] {4}, new byte[4]);
    var e1 =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new FashionMnistImporter(store)
                    .importFrom(
                        dir,
                        S3Uri.parse("s3://fashion/bad"),
                        new FashionMnistImporter.Options(10, 0, 0)));
    assertTrue(e1.getMessage().contains("t10k-images-idx3-ubyte.gz"), e1.getMessage());
    // truncated data
    Path cut = dir.resolve("cut-idx3-ubyte.gz");
    writeIdx(cut, new int[] {3, 28, 28}, new byte[100]);
    var e2 = assertThrows(IllegalArgumentException.class, () -> IdxFile.read(cut));
    assertTrue(e2.getMessage().contains("truncated") && e2.getMessage().contains("cut-"));
    Path notIdx = dir.resolve("x.gz");
    try (var out = new GZIPOutputStream(Files.newOutputStream(notIdx))) {
      out.write("hello world".getBytes(StandardCharsets.UTF_8));
    }
    var e3 = assertThrows(IllegalArgumentException.class, () -> IdxFile.read(notIdx));
    assertTrue(e3.getMessage().contains("magic"), e3.getMessage());
    var e4 =
        assertThrows(IllegalArgumentException.class, () -> IdxFile.read(dir.resolve("none.gz")));
    assertTrue(e4.getMessage().contains("none.gz"), e4.getMessage());
  }

  /** Debian's dataset-fashion-mnist files, limited to keep the test in seconds. */
  @Test
  void importsTheRealDebianFiles() throws Exception {
    boolean present =
        Files.isRegularFile(FashionMnistImporter.DEBIAN_DIR.resolve("train-images-idx3-ubyte.gz"));
    if (!present)
      System.out.println(
          "skipping the real Fashion-MNIST import: "
              + FashionMnistImporter.DEBIAN_DIR
              + " missing (apt-get install dataset-fashion-mnist)");
    Assumptions.assumeTrue(present, "dataset-fashion-mnist not installed");
    long t0 = System.nanoTime();
    var r =
        new FashionMnistImporter(store)
            .importFrom(
                FashionMnistImporter.DEBIAN_DIR,
                S3Uri.parse("s3://fashion/real"),
                new FashionMnistImporter.Options(1000, 2000, 500));
    System.out.printf(
        "fashion-mnist real import (2000 train, 500 eval): %d ms, shards %s%n",
        (System.nanoTime() - t0) / 1_000_000, r.trainShards());
    assertEquals(2000, r.trainSamples());
    assertEquals(500, r.evalSamples());
    int[] perClass = new int[10];
    for (WdsSample s : read(store.resolveShards(r.evalSet())))
      perClass[
          JsonParser.parseString(s.json().orElseThrow())
              .getAsJsonObject()
              .get("class")
              .getAsInt()]++;
    for (int c = 0; c < 10; c++)
      assertTrue(perClass[c] > 20, "class " + c + " has " + perClass[c] + " of 500");
    // the first training image of Fashion-MNIST is an ankle boot (label 9)
    WdsSample first = read(List.of(store.resolveShards(r.train()).get(0))).get(0);
    assertTrue(first.caption().orElseThrow().contains("Ankle boot"), first.caption().get());
  }

  static List<WdsSample> read(List<S3Store.ObjectInfo> shards) throws IOException {
    List<WdsSample> out = new ArrayList<>();
    for (var o : shards) {
      try (WdsReader reader = new WdsReader(new ByteArrayInputStream(store.getBytes(o.uri())))) {
        for (WdsSample s; (s = reader.next()) != null; ) out.add(s);
      }
    }
    return out;
  }

  static List<String> strings(byte[] json) {
    List<String> out = new ArrayList<>();
    JsonParser.parseString(new String(json, StandardCharsets.UTF_8))
        .getAsJsonArray()
        .forEach(e -> out.add(e.getAsString()));
    return out;
  }
}
