package io.flipflow.activities.data.emoji;

import com.google.gson.Gson;
import io.flipflow.activities.data.eval.EvalSetWriter;
import io.flipflow.activities.data.npm.NpmPackages;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.data.webdataset.ShardSink;
import io.flipflow.activities.data.webdataset.WdsSample;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code flipflow data import emoji --style STYLE --to s3://B/P}: writes
 *
 * <pre>
 * P/train/00000.tar ... + 00000_stats.json + sizes.json   seen concepts only, shuffled (seed 0)
 * P/tokenizer.json                                          word-level vocabulary (see below)
 * P/eval/subgroup/{seen,unseen}/   classification, 55 classes (DATA.md), base emoji only
 * P/eval/group/{seen,unseen}/      classification, 8 groups
 * P/eval/label/{seen,unseen}/      retrieval: image <-> CLDR label
 * </pre>
 *
 * (eval folder layout: {@link EvalSetWriter}). Flags and components are left out of training and
 * evaluation (DATA.md: beyond a tiny model). The tokenizer's vocabulary covers the training
 * captions and every class name, prompt and label of the evaluation sets (seen and unseen), so
 * nothing a zero-shot prompt says becomes [UNK]; the captions also name the subgroup and group so
 * the class-name words are trained.
 */
public final class EmojiImporter {
  private static final Logger log = LoggerFactory.getLogger(EmojiImporter.class);
  private static final Gson GSON = new Gson();
  public static final List<String> TEMPLATES = List.of("an emoji of {c}.", "{c}");
  public static final int MIN_SUBGROUP_SIZE = 10;
  private static final Map<String, String> LICENCES =
      Map.of(
          "google",
          "Apache-2.0 (Noto Emoji)",
          "twitter",
          "CC-BY-4.0 (Twemoji)",
          "openmoji",
          "CC-BY-SA-4.0 (OpenMoji)");

  /** What an import wrote. Eval sets by name, e.g. "subgroup/unseen". */
  public record Result(
      String style,
      S3Uri train,
      String trainShards,
      long trainSamples,
      long heldOutImages,
      S3Uri tokenizer,
      Map<String, S3Uri> evalSets,
      Map<String, Long> evalCounts,
      long millis) {}

  /** Where the three package .tgz files are (tests pass small generated ones). */
  public record Sources(
      java.nio.file.Path datasource, java.nio.file.Path emojibase, java.nio.file.Path openmoji) {
    public static Sources fetch(NpmPackages npm, String style) {
      String ds =
          "emoji-datasource-"
              + (style.equals("openmoji") ? "google" : style)
              + "@"
              + NpmPackages.EMOJI_DATASOURCE_VERSION;
      return new Sources(
          npm.fetch(ds),
          npm.fetch(NpmPackages.EMOJIBASE_DATA),
          style.equals("openmoji") ? npm.fetch(NpmPackages.OPENMOJI) : null);
    }
  }

  private final S3Store store;
  private final int samplesPerShard;

  public EmojiImporter(S3Store store, int samplesPerShard) {
    this.store = store;
    this.samplesPerShard = samplesPerShard;
  }

  public static void checkStyle(String style) {
    if (style == null || !style.matches("[a-z]+")) {
      throw new IllegalArgumentException(
          "emoji style must be an emoji-datasource style or 'openmoji', got '" + style + "'");
    }
    if (style.equals("apple") || style.equals("facebook")) {
      throw new IllegalArgumentException(
          "emoji style '"
              + style
              + "' is not licensed for this use (DATA.md); use google, twitter or openmoji");
    }
  }

  public Result importStyle(String style, Sources sources, S3Uri to) {
    checkStyle(style);
    long t0 = System.currentTimeMillis();
    store.requireBucket(to);
    EmojiCatalog catalog =
        EmojiCatalog.parse(
            NpmPackages.readOne(sources.datasource(), "emoji.json"),
            NpmPackages.readOne(sources.emojibase(), "en/data.json"),
            NpmPackages.readOne(sources.emojibase(), "en/messages.json"));
    Map<String, byte[]> images = loadImages(style, sources, catalog);
    String licence = LICENCES.getOrDefault(style, "see the emoji-datasource-" + style + " package");

    List<EmojiCatalog.Emoji> usable =
        catalog.all().stream()
            .filter(e -> !e.isFlagOrComponent() && images.containsKey(e.key()))
            .toList();
    List<EmojiCatalog.Emoji> train =
        new ArrayList<>(usable.stream().filter(e -> !e.isHeldOut()).toList());
    Collections.shuffle(train, new Random(0)); // shards mix groups: a batch is not one category
    List<String> texts = new ArrayList<>();
    S3Uri trainUri = to.resolve("train");
    String pattern;
    long trainCount;
    try (ShardSink sink = new ShardSink(store, trainUri, samplesPerShard)) {
      for (EmojiCatalog.Emoji e : train) {
        String caption = EmojiCaptions.caption(e);
        texts.add(caption);
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("png", images.get(e.key()));
        m.put("txt", caption.getBytes(StandardCharsets.UTF_8));
        m.put("json", GSON.toJson(metadata(e, style, licence)).getBytes(StandardCharsets.UTF_8));
        sink.write(new WdsSample(e.key().toLowerCase(java.util.Locale.ROOT), m));
      }
      trainCount = sink.total();
      sink.close();
      pattern = sink.shardPattern();
    }

    Map<String, S3Uri> evalSets = new LinkedHashMap<>();
    Map<String, Long> evalCounts = new LinkedHashMap<>();
    List<EmojiCatalog.Emoji> evalBase = usable.stream().filter(e -> !e.isSkinVariant()).toList();
    // subgroup: >= 10 base emoji, no alphanumerics or keycaps; ordered by emojibase order.
    Map<String, Long> perSubgroup =
        evalBase.stream()
            .collect(Collectors.groupingBy(EmojiCatalog.Emoji::subgroupKey, Collectors.counting()));
    Map<String, String> subgroupNames = new LinkedHashMap<>();
    evalBase.stream()
        .filter(
            e ->
                perSubgroup.get(e.subgroupKey()) >= MIN_SUBGROUP_SIZE
                    && !e.subgroupKey().equals("alphanum")
                    && !e.subgroupKey().equals("keycap"))
        .forEach(e -> subgroupNames.putIfAbsent(e.subgroupKey(), e.subgroupName()));
    Map<String, String> groupNames = new LinkedHashMap<>();
    evalBase.forEach(e -> groupNames.putIfAbsent(e.groupKey(), e.groupName()));
    writeClassification(
        "subgroup",
        EmojiCatalog.Emoji::subgroupKey,
        subgroupNames,
        evalBase,
        images,
        style,
        licence,
        to,
        evalSets,
        evalCounts,
        texts);
    writeClassification(
        "group",
        EmojiCatalog.Emoji::groupKey,
        groupNames,
        evalBase,
        images,
        style,
        licence,
        to,
        evalSets,
        evalCounts,
        texts);
    for (boolean unseen : new boolean[] {false, true}) {
      String split = unseen ? "unseen" : "seen";
      List<EvalSetWriter.Item> items = new ArrayList<>();
      for (EmojiCatalog.Emoji e : evalBase) {
        if (e.isHeldOut() == unseen) {
          items.add(
              new EvalSetWriter.Item(
                  e.key().toLowerCase(java.util.Locale.ROOT),
                  images.get(e.key()),
                  e.label(),
                  -1,
                  metadata(e, style, licence)));
          texts.add(e.label());
        }
      }
      S3Uri folder = to.resolve("eval/label/" + split);
      evalCounts.put(
          "label/" + split,
          EvalSetWriter.writeRetrieval(
              store, folder, "emoji-label-" + style, split, items, samplesPerShard));
      evalSets.put("label/" + split, folder);
    }

    S3Uri tokenizer = to.resolve("tokenizer.json");
    store.put(tokenizer, WordLevelVocabulary.build(texts));
    long heldOut = usable.size() - train.size();
    Result r =
        new Result(
            style,
            trainUri,
            pattern,
            trainCount,
            heldOut,
            tokenizer,
            evalSets,
            evalCounts,
            System.currentTimeMillis() - t0);
    log.info(
        "emoji import {}: {} training samples, {} held-out images, eval {} in {} ms",
        style,
        trainCount,
        heldOut,
        evalCounts,
        r.millis());
    return r;
  }

  private void writeClassification(
      String task,
      Function<EmojiCatalog.Emoji, String> classOf,
      Map<String, String> classNames,
      List<EmojiCatalog.Emoji> base,
      Map<String, byte[]> images,
      String style,
      String licence,
      S3Uri to,
      Map<String, S3Uri> evalSets,
      Map<String, Long> evalCounts,
      List<String> texts) {
    List<String> keys = new ArrayList<>(classNames.keySet());
    List<String> names = keys.stream().map(classNames::get).toList();
    for (String name : names) {
      TEMPLATES.forEach(t -> texts.add(EvalSetWriter.prompt(t, name)));
    }
    for (boolean unseen : new boolean[] {false, true}) {
      String split = unseen ? "unseen" : "seen";
      List<EvalSetWriter.Item> items = new ArrayList<>();
      for (EmojiCatalog.Emoji e : base) {
        int id = keys.indexOf(classOf.apply(e));
        if (id >= 0 && e.isHeldOut() == unseen) {
          items.add(
              new EvalSetWriter.Item(
                  e.key().toLowerCase(java.util.Locale.ROOT),
                  images.get(e.key()),
                  names.get(id),
                  id,
                  metadata(e, style, licence)));
        }
      }
      S3Uri folder = to.resolve("eval/" + task + "/" + split);
      evalCounts.put(
          task + "/" + split,
          EvalSetWriter.writeClassification(
              store,
              folder,
              "emoji-" + task + "-" + style,
              split,
              names,
              TEMPLATES,
              items,
              samplesPerShard));
      evalSets.put(task + "/" + split, folder);
    }
  }

  private static Map<String, Object> metadata(EmojiCatalog.Emoji e, String style, String licence) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("unified", e.key());
    m.put("label", e.label());
    m.put("tags", e.tags());
    m.put("group", e.groupName());
    m.put("subgroup", e.subgroupName());
    m.put("style", style);
    m.put("licence", licence);
    return m;
  }

  /** Image PNG bytes by join key: the style's 64-px PNGs, or OpenMoji SVGs rasterised to 64x64. */
  private static Map<String, byte[]> loadImages(
      String style, Sources sources, EmojiCatalog catalog) {
    Map<String, byte[]> byKey = new TreeMap<>();
    if (style.equals("openmoji")) {
      if (sources.openmoji() == null) {
        throw new IllegalArgumentException("style openmoji needs the openmoji package");
      }
      Map<String, byte[]> svgs =
          NpmPackages.read(
              sources.openmoji(), p -> p.startsWith("color/svg/") && p.endsWith(".svg"));
      Map<String, byte[]> svgByKey = new java.util.HashMap<>();
      svgs.forEach(
          (p, b) ->
              svgByKey.put(
                  EmojiCatalog.joinKey(p.substring("color/svg/".length(), p.length() - 4)), b));
      // Rasterising is CPU-bound and independent per emoji: use every core.
      Map<String, byte[]> rendered = new java.util.concurrent.ConcurrentHashMap<>();
      catalog.all().parallelStream()
          .filter(e -> !e.isFlagOrComponent() && svgByKey.containsKey(e.key()))
          .forEach(
              e ->
                  rendered.put(
                      e.key(),
                      new OpenMojiRasterizer()
                          .renderPng(svgByKey.get(e.key()), 64, e.key() + ".svg")));
      byKey.putAll(rendered);
      return byKey;
    }
    String dir = "img/" + style + "/64/";
    Map<String, byte[]> pngs =
        NpmPackages.read(sources.datasource(), p -> p.startsWith(dir) && p.endsWith(".png"));
    if (pngs.isEmpty()) {
      throw new IllegalArgumentException(
          sources.datasource()
              + " has no "
              + dir
              + "*.png: is '"
              + style
              + "' an emoji-datasource style?");
    }
    for (EmojiCatalog.Emoji e : catalog.all()) {
      byte[] png = pngs.get(dir + e.image());
      if (png != null) {
        byKey.put(e.key(), png);
      }
    }
    return byKey;
  }
}
