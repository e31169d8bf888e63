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
 * {@code flipflow data import emoji --style STYLE[,STYLE...] --to s3://B/P}: writes
 *
 * <pre>
 * P/train/00000.tar ... + 00000_stats.json + sizes.json   seen concepts only, shuffled (seed 0)
 * P/tokenizer.json                                          word-level vocabulary (see below)
 * P/eval/subgroup/{seen,unseen}/   classification, 55 classes (DATA.md), base emoji only
 * P/eval/group/{seen,unseen}/      classification, 8 groups
 * P/eval/label/{seen,unseen}/      retrieval: image <-> CLDR label (one style)
 * P/eval/label-STYLE/{seen,unseen}/  the same, one per style when several styles are imported
 * </pre>
 *
 * (eval folder layout: {@link EvalSetWriter}). Flags and components are left out of training and
 * evaluation (DATA.md: beyond a tiny model). The tokenizer's vocabulary covers the training
 * captions and every class name, prompt and label of the evaluation sets (seen and unseen), so
 * nothing a zero-shot prompt says becomes [UNK]; the captions also name the subgroup and group so
 * the class-name words are trained.
 *
 * <p><b>Several styles, one set</b> ({@link #importStyles}; what the demo uses with google and
 * openmoji): every style goes into the same prefix, so there is ONE training set (the styles'
 * images shuffled together; stage {@code P/train/}), ONE tokenizer, and classification sets that
 * hold every style's images. Keys are {@code <style>-<code points>} so they stay unique; the json
 * of each sample names its style and licence. Label retrieval is split per style because a label
 * shared by two images would make text->image recall undercount.
 *
 * <p>Longer than most classes here: it is one pass over the packages (read, render, caption, split,
 * write), and its parts that stand alone (catalog, rasteriser, captions) are classes of their own.
 *
 * <p>Over 350 lines: the packages' metadata, the seen/unseen split and the sets it writes are one
 * recipe, read top to bottom.
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

  /** One style into {@code to}: {@code importStyles(Map.of(style, sources), to)}. */
  public Result importStyle(String style, Sources sources, S3Uri to) {
    return importStyles(Map.of(style, sources), to);
  }

  /**
   * Several styles (e.g. google and openmoji) into ONE set under {@code to}: one training set whose
   * shards mix the styles' images of the seen concepts (shuffled together), one tokenizer (captions
   * never name the style, so both styles share them), and each evaluation set holding every style's
   * images (split into seen/unseen concepts as for one style). Sample keys are {@code <style>-<code
   * points>}, e.g. {@code openmoji-1f44d-1f3fb}, unique across styles; each sample's json names its
   * style and licence.
   */
  public Result importStyles(Map<String, Sources> sourcesByStyle, S3Uri to) {
    if (sourcesByStyle.isEmpty()) {
      throw new IllegalArgumentException("emoji import needs at least one style");
    }
    List<String> styles = new ArrayList<>(new java.util.TreeSet<>(sourcesByStyle.keySet()));
    styles.forEach(EmojiImporter::checkStyle);
    String styleName = String.join("+", styles);
    long t0 = System.currentTimeMillis();
    store.requireBucket(to);
    Sources first = sourcesByStyle.get(styles.get(0));
    EmojiCatalog catalog =
        EmojiCatalog.parse(
            NpmPackages.readOne(first.datasource(), "emoji.json"),
            NpmPackages.readOne(first.emojibase(), "en/data.json"),
            NpmPackages.readOne(first.emojibase(), "en/messages.json"));
    List<StyledEmoji> usable = new ArrayList<>();
    for (String style : styles) {
      Map<String, byte[]> images = loadImages(style, sourcesByStyle.get(style), catalog);
      String licence =
          LICENCES.getOrDefault(style, "see the emoji-datasource-" + style + " package");
      for (EmojiCatalog.Emoji e : catalog.all()) {
        if (!e.isFlagOrComponent() && images.containsKey(e.key())) {
          usable.add(new StyledEmoji(e, style, licence, images.get(e.key())));
        }
      }
    }
    List<StyledEmoji> train =
        new ArrayList<>(usable.stream().filter(e -> !e.emoji().isHeldOut()).toList());
    Collections.shuffle(train, new Random(0)); // shards mix groups and styles
    List<String> texts = new ArrayList<>();
    S3Uri trainUri = to.resolve("train");
    String pattern;
    long trainCount;
    try (ShardSink sink = new ShardSink(store, trainUri, samplesPerShard)) {
      for (StyledEmoji se : train) {
        String caption = EmojiCaptions.caption(se.emoji());
        texts.add(caption);
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("png", se.png());
        m.put("txt", caption.getBytes(StandardCharsets.UTF_8));
        m.put("json", GSON.toJson(se.metadata()).getBytes(StandardCharsets.UTF_8));
        sink.write(new WdsSample(se.key(), m));
      }
      trainCount = sink.total();
      sink.close();
      pattern = sink.shardPattern();
    }

    Map<String, S3Uri> evalSets = new LinkedHashMap<>();
    Map<String, Long> evalCounts = new LinkedHashMap<>();
    List<StyledEmoji> evalBase = usable.stream().filter(e -> !e.emoji().isSkinVariant()).toList();
    // subgroup: >= 10 base emoji (counted in the catalog, not per style), no alphanumerics or
    // keycaps; ordered by emojibase order.
    List<EmojiCatalog.Emoji> catalogBase =
        catalog.base().stream().filter(e -> !e.isFlagOrComponent()).toList();
    Map<String, Long> perSubgroup =
        catalogBase.stream()
            .collect(Collectors.groupingBy(EmojiCatalog.Emoji::subgroupKey, Collectors.counting()));
    Map<String, String> subgroupNames = new LinkedHashMap<>();
    catalogBase.stream()
        .filter(
            e ->
                perSubgroup.get(e.subgroupKey()) >= MIN_SUBGROUP_SIZE
                    && !e.subgroupKey().equals("alphanum")
                    && !e.subgroupKey().equals("keycap"))
        .forEach(e -> subgroupNames.putIfAbsent(e.subgroupKey(), e.subgroupName()));
    Map<String, String> groupNames = new LinkedHashMap<>();
    catalogBase.forEach(e -> groupNames.putIfAbsent(e.groupKey(), e.groupName()));
    writeClassification(
        "subgroup",
        EmojiCatalog.Emoji::subgroupKey,
        subgroupNames,
        evalBase,
        styleName,
        to,
        evalSets,
        evalCounts,
        texts);
    writeClassification(
        "group",
        EmojiCatalog.Emoji::groupKey,
        groupNames,
        evalBase,
        styleName,
        to,
        evalSets,
        evalCounts,
        texts);
    // Label retrieval stays one set per style: with two styles every label would name two images,
    // and text->image recall counts only a text's own image as a hit.
    for (String style : styles) {
      String task = styles.size() == 1 ? "label" : "label-" + style;
      for (boolean unseen : new boolean[] {false, true}) {
        String split = unseen ? "unseen" : "seen";
        List<EvalSetWriter.Item> items = new ArrayList<>();
        for (StyledEmoji se : evalBase) {
          if (se.style().equals(style) && se.emoji().isHeldOut() == unseen) {
            items.add(
                new EvalSetWriter.Item(se.key(), se.png(), se.emoji().label(), -1, se.metadata()));
            texts.add(se.emoji().label());
          }
        }
        S3Uri folder = to.resolve("eval/" + task + "/" + split);
        evalCounts.put(
            task + "/" + split,
            EvalSetWriter.writeRetrieval(
                store, folder, "emoji-label-" + style, split, items, samplesPerShard));
        evalSets.put(task + "/" + split, folder);
      }
    }

    S3Uri tokenizer = to.resolve("tokenizer.json");
    store.put(tokenizer, WordLevelVocabulary.build(texts));
    long heldOut = usable.size() - train.size();
    Result r =
        new Result(
            styleName,
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
        styleName,
        trainCount,
        heldOut,
        evalCounts,
        r.millis());
    return r;
  }

  /** One emoji in one style: its image and the metadata every sample of it carries. */
  private record StyledEmoji(EmojiCatalog.Emoji emoji, String style, String licence, byte[] png) {
    String key() {
      return style + "-" + emoji.key().toLowerCase(java.util.Locale.ROOT);
    }

    Map<String, Object> metadata() {
      return EmojiImporter.metadata(emoji, style, licence);
    }
  }

  private void writeClassification(
      String task,
      Function<EmojiCatalog.Emoji, String> classOf,
      Map<String, String> classNames,
      List<StyledEmoji> base,
      String styleName,
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
      for (StyledEmoji se : base) {
        int id = keys.indexOf(classOf.apply(se.emoji()));
        if (id >= 0 && se.emoji().isHeldOut() == unseen) {
          items.add(new EvalSetWriter.Item(se.key(), se.png(), names.get(id), id, se.metadata()));
        }
      }
      S3Uri folder = to.resolve("eval/" + task + "/" + split);
      evalCounts.put(
          task + "/" + split,
          EvalSetWriter.writeClassification(
              store,
              folder,
              "emoji-" + task + "-" + styleName,
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
