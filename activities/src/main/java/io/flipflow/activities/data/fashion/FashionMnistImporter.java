package io.flipflow.activities.data.fashion;

import com.google.gson.Gson;
import io.flipflow.activities.data.eval.EvalSetWriter;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.data.webdataset.ShardSink;
import io.flipflow.activities.data.webdataset.WdsSample;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code flipflow data import fashion-mnist --to s3://B/P}: Debian's {@code dataset-fashion-mnist}
 * IDX files into
 *
 * <pre>
 * P/train/00000.tar ... + 00000_stats.json + sizes.json   from train-*: KEY.png, KEY.txt, KEY.json
 * P/tokenizer.json                                          word-level, covers captions and prompts
 * P/eval/class/all/                                         10-class classification from t10k-*
 * </pre>
 *
 * (eval layout: {@link EvalSetWriter}, split "all"). The set has class names only, so a training
 * caption is one of {@link #TEMPLATES} (picked per sample with a fixed seed) filled with the class
 * name; evaluation prompts use the same templates. Images are 28x28 PNGs with the grey value
 * replicated to RGB (a grey PNG would be drawn through Java2D's linear-grey colour space and come
 * out lighter). Metadata: class id and name, source file and index, licence.
 */
public final class FashionMnistImporter {
  private static final Logger log = LoggerFactory.getLogger(FashionMnistImporter.class);
  private static final Gson GSON = new Gson();

  public static final Path DEBIAN_DIR = Path.of("/usr/share/datasets/fashion-mnist");
  public static final String LICENCE = "MIT (Zalando Research, Fashion-MNIST)";

  /** Zalando's class names, index = label. */
  public static final List<String> CLASSES =
      List.of(
          "T-shirt/top",
          "Trouser",
          "Pullover",
          "Dress",
          "Coat",
          "Sandal",
          "Shirt",
          "Sneaker",
          "Bag",
          "Ankle boot");

  /** Caption and zero-shot prompt templates ({c} = class name). */
  public static final List<String> TEMPLATES =
      List.of(
          "a photo of a {c}.",
          "a black and white photo of a {c}.",
          "a low resolution photo of a {c}.",
          "a photo of the {c}.",
          "a picture of a {c}, an item of clothing.");

  /**
   * @param samplesPerShard samples per tar shard
   * @param maxTrainSamples at most this many of the 60,000 training images (the first ones); {@code
   *     <= 0} for all
   * @param maxEvalSamples at most this many of the 10,000 test images; {@code <= 0} for all
   */
  public record Options(int samplesPerShard, int maxTrainSamples, int maxEvalSamples) {
    public Options {
      if (samplesPerShard <= 0)
        throw new IllegalArgumentException(
            "samplesPerShard must be positive, got " + samplesPerShard);
    }

    public static Options all() {
      return new Options(5000, 0, 0);
    }
  }

  /** What an import wrote. */
  public record Result(
      S3Uri train,
      String trainShards,
      long trainSamples,
      S3Uri tokenizer,
      S3Uri evalSet,
      long evalSamples,
      long millis) {}

  private final S3Store store;

  public FashionMnistImporter(S3Store store) {
    this.store = store;
  }

  /** Imports from {@code dir} (e.g. {@link #DEBIAN_DIR}) holding the four {@code .gz} IDX files. */
  public Result importFrom(Path dir, S3Uri to, Options options) {
    long t0 = System.currentTimeMillis();
    store.requireBucket(to);
    IdxFile trainImages = IdxFile.read(dir.resolve("train-images-idx3-ubyte.gz"));
    IdxFile trainLabels = IdxFile.read(dir.resolve("train-labels-idx1-ubyte.gz"));
    IdxFile testImages = IdxFile.read(dir.resolve("t10k-images-idx3-ubyte.gz"));
    IdxFile testLabels = IdxFile.read(dir.resolve("t10k-labels-idx1-ubyte.gz"));
    check(trainImages, trainLabels, dir.resolve("train-images-idx3-ubyte.gz"));
    check(testImages, testLabels, dir.resolve("t10k-images-idx3-ubyte.gz"));

    int nTrain = limit(trainImages.count(), options.maxTrainSamples());
    int nEval = limit(testImages.count(), options.maxEvalSamples());
    List<byte[]> trainPngs = pngs(trainImages, nTrain);
    List<byte[]> evalPngs = pngs(testImages, nEval);

    List<String> texts = new ArrayList<>();
    for (String c : CLASSES) TEMPLATES.forEach(t -> texts.add(EvalSetWriter.prompt(t, c)));

    S3Uri trainUri = to.resolve("train");
    Random templatePick = new Random(0);
    String pattern;
    long trainCount;
    try (ShardSink sink = new ShardSink(store, trainUri, options.samplesPerShard())) {
      for (int i = 0; i < nTrain; i++) {
        int label = label(trainLabels, i, "train-labels-idx1-ubyte.gz");
        String caption =
            EvalSetWriter.prompt(
                TEMPLATES.get(templatePick.nextInt(TEMPLATES.size())), CLASSES.get(label));
        Map<String, Object> meta = metadata(label, "train", i);
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("png", trainPngs.get(i));
        m.put("txt", caption.getBytes(StandardCharsets.UTF_8));
        m.put("json", GSON.toJson(meta).getBytes(StandardCharsets.UTF_8));
        sink.write(new WdsSample(String.format("train-%05d", i), m));
      }
      sink.close();
      trainCount = sink.total();
      pattern = sink.shardPattern();
    }

    List<EvalSetWriter.Item> items = new ArrayList<>();
    for (int i = 0; i < nEval; i++) {
      int label = label(testLabels, i, "t10k-labels-idx1-ubyte.gz");
      items.add(
          new EvalSetWriter.Item(
              String.format("t10k-%05d", i),
              evalPngs.get(i),
              CLASSES.get(label),
              label,
              metadata(label, "t10k", i)));
    }
    S3Uri evalUri = to.resolve("eval/class/all");
    long evalCount =
        EvalSetWriter.writeClassification(
            store,
            evalUri,
            "fashion-mnist",
            "all",
            CLASSES,
            TEMPLATES,
            items,
            options.samplesPerShard());

    S3Uri tokenizer = to.resolve("tokenizer.json");
    store.put(tokenizer, WordLevelVocabulary.build(texts));
    Result r =
        new Result(
            trainUri,
            pattern,
            trainCount,
            tokenizer,
            evalUri,
            evalCount,
            System.currentTimeMillis() - t0);
    log.info(
        "fashion-mnist import: {} training samples in {}, {} eval samples in {}, {} ms",
        trainCount,
        pattern,
        evalCount,
        evalUri,
        r.millis());
    return r;
  }

  private static int limit(int available, int max) {
    return max <= 0 ? available : Math.min(available, max);
  }

  private static void check(IdxFile images, IdxFile labels, Path imageFile) {
    if (images.dims().length != 3) {
      throw new IllegalArgumentException(
          imageFile + ": expected 3 dimensions (count, rows, cols), got " + images.dims().length);
    }
    if (labels.dims().length != 1 || labels.count() != images.count()) {
      throw new IllegalArgumentException(
          imageFile
              + ": "
              + images.count()
              + " images but the labels file has "
              + labels.count()
              + " labels");
    }
  }

  private static int label(IdxFile labels, int i, String file) {
    int label = labels.data()[i] & 0xff;
    if (label >= CLASSES.size()) {
      throw new IllegalArgumentException(
          file + ": label " + label + " at index " + i + " is not one of the 10 classes");
    }
    return label;
  }

  private static Map<String, Object> metadata(int label, String split, int index) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("class", label);
    m.put("class_name", CLASSES.get(label));
    m.put("source", "fashion-mnist " + split);
    m.put("index", index);
    m.put("licence", LICENCE);
    return m;
  }

  /** PNG-encodes the first {@code n} images, in parallel: encoding is the import's CPU cost. */
  private static List<byte[]> pngs(IdxFile images, int n) {
    int rows = images.dims()[1];
    int cols = images.dims()[2];
    return IntStream.range(0, n)
        .parallel()
        .mapToObj(i -> png(images.data(), i * rows * cols, rows, cols))
        .toList();
  }

  static byte[] png(byte[] grey, int offset, int rows, int cols) {
    BufferedImage img = new BufferedImage(cols, rows, BufferedImage.TYPE_INT_RGB);
    int[] rgb = new int[rows * cols];
    for (int p = 0; p < rgb.length; p++) {
      int v = grey[offset + p] & 0xff;
      rgb[p] = (v << 16) | (v << 8) | v;
    }
    img.setRGB(0, 0, cols, rows, rgb, 0, cols);
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
      ImageIO.write(img, "png", out);
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
