package io.flipflow.activities.data;

import static org.junit.jupiter.api.Assertions.*;

import com.google.gson.JsonParser;
import io.flipflow.activities.data.emoji.EmojiCaptions;
import io.flipflow.activities.data.emoji.EmojiImporter;
import io.flipflow.activities.data.eval.EvalSetWriter;
import io.flipflow.activities.data.npm.NpmPackages;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.data.webdataset.WdsReader;
import io.flipflow.activities.data.webdataset.WdsSample;
import io.flipflow.activities.testing.S3Fixture;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class EmojiImporterTest {

  @Test
  void captionFollowsTheRecipeAndNamesTheCategory() {
    String c =
        EmojiCaptions.caption(
            "thumbs up",
            List.of("+1", "good", "hand", "like", "thumb", "thumbs up", "up", "yes", "extra"),
            "hand fingers closed",
            "people & body");
    assertEquals(
        "thumbs up — +1, good, hand, like, thumb, yes. hand fingers closed, people & body", c);
  }

  @Test
  void unlicensedStylesAreRefused() {
    var e = assertThrows(IllegalArgumentException.class, () -> EmojiImporter.checkStyle("apple"));
    assertTrue(e.getMessage().contains("apple"));
  }

  /** The real packages (google style), when `npm pack` has put them in the cache. */
  @Test
  void importsTheRealGoogleStyle() throws Exception {
    NpmPackages npm = NpmPackages.defaultCache();
    boolean cached =
        npm.isCached("emoji-datasource-google@16.0.0") && npm.isCached(NpmPackages.EMOJIBASE_DATA);
    if (!cached)
      System.out.println(
          "skipping the real emoji import: packages not in " + npm.cacheDir() + " (run npm pack)");
    Assumptions.assumeTrue(cached, "emoji npm packages not cached");
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store()) {
      store.createBucket("emoji");
      var r =
          new EmojiImporter(store, 1000)
              .importStyle(
                  "google",
                  EmojiImporter.Sources.fetch(npm, "google"),
                  S3Uri.parse("s3://emoji/google"));
      System.out.printf(
          "emoji google import: %d train samples, %d held-out images, eval %s, %d ms%n",
          r.trainSamples(), r.heldOutImages(), r.evalCounts(), r.millis());
      assertEquals(
          1345, r.evalCounts().get("subgroup/seen") + r.evalCounts().get("subgroup/unseen"));
      assertEquals(1636, r.evalCounts().get("label/seen") + r.evalCounts().get("label/unseen"));
      assertEquals(351, r.evalCounts().get("label/unseen"));
      assertEquals(1636, r.evalCounts().get("group/seen") + r.evalCounts().get("group/unseen"));

      List<String> subgroups = classes(store, r.evalSets().get("subgroup/unseen"));
      List<String> groups = classes(store, r.evalSets().get("group/seen"));
      assertEquals(55, subgroups.size());
      assertEquals(8, groups.size());
      assertTrue(subgroups.contains("mammals"), subgroups.toString());

      // the img2dataset layout, members grouped by key, and no held-out concept in training
      var shards = store.resolveShards(S3Uri.parse(r.trainShards()));
      assertTrue(store.exists(r.train().resolve("sizes.json")));
      assertTrue(store.exists(r.train().resolve("00000_stats.json")));
      java.util.Set<String> unseenKeys = new java.util.HashSet<>();
      for (var o : store.resolveShards(r.evalSets().get("label/unseen")))
        unseenKeys.addAll(keys(store, o.uri()));
      long n = 0;
      for (var o : shards) {
        try (WdsReader reader = new WdsReader(new ByteArrayInputStream(store.getBytes(o.uri())))) {
          for (WdsSample s; (s = reader.next()) != null; n++) {
            assertEquals(List.of("png", "txt", "json"), new ArrayList<>(s.members().keySet()));
            var json = JsonParser.parseString(s.json().orElseThrow()).getAsJsonObject();
            for (String f :
                List.of("unified", "label", "tags", "group", "subgroup", "style", "licence"))
              assertTrue(json.has(f), f);
            String base = s.key().replaceAll("-1f3f[b-f]", "");
            assertFalse(unseenKeys.contains(base), "held-out concept in training: " + s.key());
            assertFalse(s.caption().orElseThrow().toLowerCase().contains("google"));
          }
        }
      }
      assertEquals(r.trainSamples(), n);

      // every class name and prompt of every eval set tokenizes without [UNK]
      try (CaptionTokenizer tok =
          CaptionTokenizer.load(store.getBytes(r.tokenizer()), 32, "emoji")) {
        List<String> texts = new ArrayList<>();
        for (String c : subgroups)
          EmojiImporter.TEMPLATES.forEach(t -> texts.add(EvalSetWriter.prompt(t, c)));
        for (String c : groups)
          EmojiImporter.TEMPLATES.forEach(t -> texts.add(EvalSetWriter.prompt(t, c)));
        for (var o : store.resolveShards(r.evalSets().get("label/unseen"))) {
          try (WdsReader reader =
              new WdsReader(new ByteArrayInputStream(store.getBytes(o.uri())))) {
            for (WdsSample s; (s = reader.next()) != null; ) texts.add(s.caption().orElseThrow());
          }
        }
        for (String t : texts) assertEquals(List.of(), tok.unknownWords(t), t);
        assertFalse(tok.unknownWords("an emoji of zyzzyva").isEmpty(), "the check can fail");
        System.out.printf(
            "tokenizer: vocab %d, %d eval texts without unknown words%n",
            tok.vocabSize(), texts.size());
      }
    }
  }

  /**
   * google and openmoji (SVGs rasterised with JSVG) into ONE prefix: one training set of both
   * styles, one tokenizer, classification sets with both styles, label retrieval per style.
   */
  @Test
  void importsGoogleAndOpenMojiIntoOneSet() throws Exception {
    NpmPackages npm = NpmPackages.defaultCache();
    boolean cached =
        npm.isCached("emoji-datasource-google@16.0.0")
            && npm.isCached(NpmPackages.EMOJIBASE_DATA)
            && npm.isCached(NpmPackages.OPENMOJI);
    if (!cached)
      System.out.println(
          "skipping the real google+openmoji import: packages not in "
              + npm.cacheDir()
              + " (run npm pack)");
    Assumptions.assumeTrue(cached, "emoji npm packages not cached");
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store()) {
      store.createBucket("emoji");
      var sources = new java.util.LinkedHashMap<String, EmojiImporter.Sources>();
      sources.put("openmoji", EmojiImporter.Sources.fetch(npm, "openmoji"));
      sources.put("google", EmojiImporter.Sources.fetch(npm, "google"));
      var r = new EmojiImporter(store, 1000).importStyles(sources, S3Uri.parse("s3://emoji/both"));
      System.out.printf(
          "emoji google+openmoji import: %d train samples, %d held-out images, eval %s, %d ms%n",
          r.trainSamples(), r.heldOutImages(), r.evalCounts(), r.millis());
      assertEquals("google+openmoji", r.style());
      java.util.Map<String, Integer> perStyle = new java.util.TreeMap<>();
      int blank = 0;
      int position = 0;
      java.util.Set<String> firstStyles = new java.util.HashSet<>();
      for (var o : store.resolveShards(S3Uri.parse(r.trainShards()))) {
        try (WdsReader reader = new WdsReader(new ByteArrayInputStream(store.getBytes(o.uri())))) {
          for (WdsSample s; (s = reader.next()) != null; position++) {
            String style =
                JsonParser.parseString(s.json().orElseThrow())
                    .getAsJsonObject()
                    .get("style")
                    .getAsString();
            assertTrue(s.key().startsWith(style + "-"), s.key());
            perStyle.merge(style, 1, Integer::sum);
            if (position < 100) firstStyles.add(style);
            var img =
                io.flipflow.activities.data.image.ImagePreprocessor.decode(s.members().get("png"));
            assertEquals(64, img.getWidth());
            if (style.equals("openmoji")) {
              int opaque = 0;
              for (int argb : img.getRGB(0, 0, 64, 64, null, 0, 64))
                if ((argb >>> 24) > 0) opaque++;
              if (opaque < 64) blank++; // less than one row's worth drawn: the SVG did not render
            }
          }
        }
      }
      System.out.println("training samples per style: " + perStyle);
      assertEquals(r.trainSamples(), perStyle.values().stream().mapToInt(i -> i).sum());
      assertTrue(perStyle.get("google") > 2500, "" + perStyle);
      // every google image of a seen concept has its OpenMoji SVG (DATA.md's join)
      assertEquals(perStyle.get("google"), perStyle.get("openmoji"), "" + perStyle);
      assertEquals(2, firstStyles.size(), "styles are shuffled together");
      assertEquals(0, blank, "openmoji images with (almost) nothing drawn");

      assertEquals(
          2 * 1345, r.evalCounts().get("subgroup/seen") + r.evalCounts().get("subgroup/unseen"));
      assertEquals(351, r.evalCounts().get("label-google/unseen"));
      assertEquals(351, r.evalCounts().get("label-openmoji/unseen"));
      assertFalse(r.evalSets().containsKey("label/unseen"));
      assertEquals(55, classes(store, r.evalSets().get("subgroup/unseen")).size());
      try (CaptionTokenizer tok =
          CaptionTokenizer.load(store.getBytes(r.tokenizer()), 32, "emoji")) {
        for (String c : classes(store, r.evalSets().get("subgroup/unseen")))
          for (String t : EmojiImporter.TEMPLATES)
            assertEquals(List.of(), tok.unknownWords(EvalSetWriter.prompt(t, c)), c);
      }
    }
  }

  private static List<String> classes(S3Store store, S3Uri folder) {
    List<String> out = new ArrayList<>();
    JsonParser.parseString(
            new String(store.getBytes(folder.resolve("classes.json")), StandardCharsets.UTF_8))
        .getAsJsonArray()
        .forEach(e -> out.add(e.getAsString()));
    return out;
  }

  private static List<String> keys(S3Store store, S3Uri shard) throws Exception {
    List<String> out = new ArrayList<>();
    try (WdsReader reader = new WdsReader(new ByteArrayInputStream(store.getBytes(shard)))) {
      for (WdsSample s; (s = reader.next()) != null; ) out.add(s.key());
    }
    return out;
  }
}
