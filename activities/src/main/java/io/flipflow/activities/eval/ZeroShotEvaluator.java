package io.flipflow.activities.eval;

import io.flipflow.activities.data.image.ImagePreprocessor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Zero-shot classification and retrieval of an {@link ImageTextEncoder} on an evaluation set, with
 * FLIP's masked-inference views beside the full image. Inputs go to the encoder in batches of at
 * most {@code batchSize}; images are decoded and preprocessed per batch on all cores, so a large
 * set never sits in memory as pixels.
 */
public final class ZeroShotEvaluator {
  private final ImageTextEncoder encoder;
  private final ImagePreprocessor preprocessor;
  private final int batchSize;
  private final ProgressListener progress;
  private final PixelCache cache;
  private final String cacheScope;
  private final EmbeddingMemo memo;
  // what this evaluator has cost so far, for the activity's log
  private long textNanos;
  private long imageNanos;
  private int textsEncoded;
  private int imagesEncoded;

  public ZeroShotEvaluator(ImageTextEncoder encoder, int batchSize, ProgressListener progress) {
    this(encoder, batchSize, progress, PixelCache.none(), "", EmbeddingMemo.none());
  }

  /**
   * @param cache decoded images kept across evaluations
   * @param cacheScope what identifies the images' set and content (e.g. its URI and the ETags of
   *     its objects): a key in the cache is the scope, the image's name and the preprocessing
   * @param memo full-image embeddings of this encoder's model by image content, shared with the
   *     evaluators of the other sets of the same evaluation
   */
  public ZeroShotEvaluator(
      ImageTextEncoder encoder,
      int batchSize,
      ProgressListener progress,
      PixelCache cache,
      String cacheScope,
      EmbeddingMemo memo) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize must be at least 1, got " + batchSize);
    }
    this.encoder = encoder;
    this.preprocessor = new ImagePreprocessor(encoder.imageSize());
    this.cache = cache;
    this.cacheScope =
        cacheScope + "|" + ImagePreprocessor.DESCRIPTION + "|" + encoder.imageSize() + "|";
    this.batchSize = batchSize;
    this.progress = progress;
    this.memo = memo;
  }

  public ZeroShotEvaluator(ImageTextEncoder encoder, int batchSize) {
    this(encoder, batchSize, ProgressListener.none());
  }

  /**
   * What the encoder did so far: texts and image forwards (an image counts once per forward the
   * model ran, a forward shared by two views once) and the seconds in each, e.g. {@code 110 texts
   * 0.4 s, 1156 images 3.2 s}.
   */
  public String work() {
    return String.format(
        java.util.Locale.ROOT,
        "%d texts %.1f s, %d images %.1f s",
        textsEncoded,
        textNanos / 1e9,
        imagesEncoded,
        imageNanos / 1e9);
  }

  /**
   * Classifies every image of the set once per view.
   *
   * @return acc1, acc5, mean_per_class_recall for each view, in view order
   */
  public List<EvalResult> classification(
      ClassificationSet set, String split, List<InferenceView> views) {
    float[][] classEmbeddings = classEmbeddings(set.classNames(), set.templates());
    List<ImageRef> images = set.samples().stream().map(ClassificationSet.Sample::image).toList();
    int[] labels = set.samples().stream().mapToInt(ClassificationSet.Sample::label).toArray();
    List<float[][]> perView = encodeImages(images, views);
    List<EvalResult> results = new ArrayList<>();
    for (int v = 0; v < views.size(); v++) {
      ClassificationMetrics m =
          ClassificationMetrics.compute(perView.get(v), labels, classEmbeddings);
      add(
          results,
          EvalResult.ZEROSHOT_CLASSIFICATION,
          set.name(),
          split,
          views.get(v),
          m.asMap(),
          metric -> labels.length);
    }
    return results;
  }

  /**
   * Image->text and text->image retrieval once per view (captions are embedded once).
   *
   * @return image_retrieval_recall@k and text_retrieval_recall@k for k in {@code ks} (default 1, 5,
   *     10), for each view in view order
   */
  public List<EvalResult> retrieval(
      RetrievalSet set, String split, List<InferenceView> views, int... ks) {
    int[] recallKs = ks.length == 0 ? RetrievalMetrics.DEFAULT_KS : ks;
    List<ImageRef> images = new ArrayList<>();
    List<String> captions = new ArrayList<>();
    List<Integer> captionImage = new ArrayList<>();
    for (RetrievalSet.Sample s : set.samples()) {
      for (String caption : s.captions()) {
        captions.add(caption);
        captionImage.add(images.size());
      }
      images.add(s.image());
    }
    int[] textImageIndex = captionImage.stream().mapToInt(Integer::intValue).toArray();
    float[][] textEmbeddings = encodeTexts(captions, "captions");
    List<float[][]> perView = encodeImages(images, views);
    List<EvalResult> results = new ArrayList<>();
    for (int v = 0; v < views.size(); v++) {
      Map<String, Double> m =
          RetrievalMetrics.compute(perView.get(v), textEmbeddings, textImageIndex, recallKs);
      // image_retrieval_*: each caption queries the images; text_retrieval_*: each image queries
      add(
          results,
          EvalResult.ZEROSHOT_RETRIEVAL,
          set.name(),
          split,
          views.get(v),
          m,
          metric -> metric.startsWith("image_") ? captions.size() : images.size());
    }
    return results;
  }

  /**
   * One embedding per class, OpenCLIP's way: embed the class name in every template, normalise
   * each, average, re-normalise.
   */
  public float[][] classEmbeddings(List<String> classNames, List<String> templates) {
    List<String> prompts = new ArrayList<>(classNames.size() * templates.size());
    for (String className : classNames) {
      for (String template : templates) {
        prompts.add(ClassificationSet.fill(template, className));
      }
    }
    float[][] promptEmbeddings = encodeTexts(prompts, "class prompts");
    float[][] classEmbeddings = new float[classNames.size()][];
    for (int c = 0; c < classNames.size(); c++) {
      int from = c * templates.size();
      classEmbeddings[c] =
          Embeddings.normalizedMeanOfNormalized(
              Arrays.asList(promptEmbeddings).subList(from, from + templates.size()));
    }
    return classEmbeddings;
  }

  /**
   * Embeds texts in batches, each distinct text once (found in the memo, another set of this
   * evaluation had it: the two label sets share their captions); re-normalised in case an encoder
   * returns raw features.
   */
  public float[][] encodeTexts(List<String> texts, String phase) {
    float[][] out = new float[texts.size()][];
    Map<String, Integer> firstWith = new HashMap<>();
    List<Integer> todo = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      out[i] = memo.getText(texts.get(i));
      if (out[i] == null && firstWith.putIfAbsent(texts.get(i), i) == null) {
        todo.add(i);
      }
    }
    int known = texts.size() - todo.size();
    for (int from = 0; from < todo.size(); from += batchSize) {
      List<Integer> indices = todo.subList(from, Math.min(todo.size(), from + batchSize));
      long started = System.nanoTime();
      float[][] batch = encoder.encodeTexts(indices.stream().map(texts::get).toList());
      textNanos += System.nanoTime() - started;
      textsEncoded += indices.size();
      requireCount(batch, indices.size(), "encodeTexts");
      for (int k = 0; k < batch.length; k++) {
        int i = indices.get(k);
        out[i] = Embeddings.l2Normalize(batch[k]);
        memo.putText(texts.get(i), out[i]);
      }
      progress.progress(phase, known + from + indices.size(), texts.size());
    }
    for (int i = 0; i < texts.size(); i++) {
      if (out[i] == null) {
        out[i] = out[firstWith.get(texts.get(i))];
      }
    }
    if (todo.isEmpty()) {
      progress.progress(phase, texts.size(), texts.size());
    }
    return out;
  }

  /**
   * Embeds every image once per view; each batch is decoded and preprocessed once for all views,
   * and a forward two views share (same ratio and seed) runs once. An ensemble view averages its
   * random views' normalised embeddings and re-normalises.
   *
   * @return per view (in order), one normalised embedding per image
   */
  public List<float[][]> encodeImages(List<ImageRef> images, List<InferenceView> views) {
    if (views.isEmpty()) {
      throw new IllegalArgumentException("no inference view given: use InferenceView.full()");
    }
    if (views.size() == 1 && views.get(0).isFull()) {
      return List.<float[][]>of(encodeFull(images));
    }
    List<float[][]> out = new ArrayList<>();
    for (int v = 0; v < views.size(); v++) {
      out.add(new float[images.size()][]);
    }
    for (int from = 0; from < images.size(); from += batchSize) {
      int to = Math.min(images.size(), from + batchSize);
      List<byte[]> pixels = preprocess(images.subList(from, to));
      // a forward is a function of (ratio, seed): a single masked view and the first view of an
      // ensemble with the same seed are the same forward, run once
      Map<Forward, float[][]> forwards = new HashMap<>();
      for (int v = 0; v < views.size(); v++) {
        InferenceView view = views.get(v);
        List<List<float[]>> viewEmbeddings = new ArrayList<>();
        for (int i = 0; i < pixels.size(); i++) {
          viewEmbeddings.add(new ArrayList<>());
        }
        for (int r = 0; r < view.views(); r++) {
          long seed = view.isFull() ? 0 : viewSeed(view.seed(), r, from);
          float[][] batch =
              forwards.computeIfAbsent(
                  new Forward(view.maskRatio(), seed), f -> encodeBatch(pixels, f.ratio, f.seed));
          for (int i = 0; i < batch.length; i++) {
            viewEmbeddings.get(i).add(batch[i]);
          }
        }
        for (int i = 0; i < pixels.size(); i++) {
          out.get(v)[from + i] = Embeddings.normalizedMeanOfNormalized(viewEmbeddings.get(i));
        }
      }
      progress.progress("images", to, images.size());
    }
    int full = views.indexOf(InferenceView.full());
    if (full >= 0) {
      for (int i = 0; i < images.size(); i++) {
        memo.put(images.get(i).contentDigest(), out.get(full)[i]);
      }
    }
    return out;
  }

  private record Forward(double ratio, long seed) {}

  private float[][] encodeBatch(List<byte[]> pixels, double maskRatio, long seed) {
    long started = System.nanoTime();
    float[][] batch = encoder.encodeImages(pixels, maskRatio, seed);
    imageNanos += System.nanoTime() - started;
    imagesEncoded += pixels.size();
    requireCount(batch, pixels.size(), "encodeImages");
    return batch;
  }

  /**
   * The full view, each distinct image embedded once: found in the memo (another set of this
   * evaluation had it), or repeated in this set, it is not decoded or run through the model again.
   * Masked views stay on the path above: their random masks follow each image's place in its set.
   */
  private float[][] encodeFull(List<ImageRef> images) {
    float[][] out = new float[images.size()][];
    String[] digests = new String[images.size()];
    Map<String, Integer> firstWith = new HashMap<>();
    List<Integer> todo = new ArrayList<>();
    for (int i = 0; i < images.size(); i++) {
      digests[i] = images.get(i).contentDigest();
      out[i] = memo.get(digests[i]);
      if (out[i] == null && (digests[i] == null || firstWith.putIfAbsent(digests[i], i) == null)) {
        todo.add(i);
      }
    }
    int known = images.size() - todo.size();
    for (int from = 0; from < todo.size(); from += batchSize) {
      List<Integer> indices = todo.subList(from, Math.min(todo.size(), from + batchSize));
      List<byte[]> pixels = preprocess(indices.stream().map(images::get).toList());
      float[][] batch = encodeBatch(pixels, 0.0, 0);
      for (int k = 0; k < batch.length; k++) {
        int i = indices.get(k);
        out[i] = Embeddings.normalizedMeanOfNormalized(List.of(batch[k]));
        memo.put(digests[i], out[i]);
      }
      progress.progress("images", known + from + indices.size(), images.size());
    }
    for (int i = 0; i < images.size(); i++) {
      if (out[i] == null) {
        out[i] = out[firstWith.get(digests[i])];
      }
    }
    if (todo.isEmpty()) {
      progress.progress("images", images.size(), images.size());
    }
    return out;
  }

  /**
   * The seed of random view {@code view} of the batch starting at image {@code firstImage}:
   * distinct per view and batch, reproducible from the view's seed (SplitMix64's finaliser spreads
   * the bits).
   */
  static long viewSeed(long seed, int view, int firstImage) {
    long z = seed + 0x9E3779B97F4A7C15L * (1 + ((long) view << 32) + firstImage);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private List<byte[]> preprocess(List<ImageRef> batch) {
    return IntStream.range(0, batch.size())
        .parallel()
        .mapToObj(
            i -> {
              ImageRef ref = batch.get(i);
              String key = cacheScope + ref.name();
              byte[] cached = cache.get(key);
              if (cached != null) {
                return cached;
              }
              try {
                byte[] pixels = preprocessor.toChw(ref.decode());
                cache.put(key, pixels);
                return pixels;
              } catch (IOException e) {
                // The readers decoded every image once already: failing now means the file changed
                // or vanished under us, which a retry may fix.
                throw new UncheckedIOException(
                    "could not decode " + ref.name() + " during evaluation: " + e.getMessage(), e);
              }
            })
        .toList();
  }

  private static void requireCount(float[][] batch, int expected, String method) {
    if (batch == null || batch.length != expected) {
      throw new IllegalStateException(
          "ImageTextEncoder."
              + method
              + " returned "
              + (batch == null ? "null" : batch.length + " embeddings")
              + " for "
              + expected
              + " inputs");
    }
  }

  private static void add(
      List<EvalResult> results,
      String task,
      String dataset,
      String split,
      InferenceView view,
      Map<String, Double> metrics,
      java.util.function.ToIntFunction<String> queries) {
    metrics.forEach(
        (metric, value) ->
            results.add(
                new EvalResult(
                    task,
                    dataset,
                    split,
                    view.label(),
                    metric,
                    value,
                    queries.applyAsInt(metric))));
  }
}
