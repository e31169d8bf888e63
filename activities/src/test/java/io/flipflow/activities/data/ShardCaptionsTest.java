package io.flipflow.activities.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.ShardCaptions;
import io.flipflow.activities.data.staging.StagingLimits;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.activities.data.webdataset.WdsSample;
import io.flipflow.activities.testing.S3Fixture;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** `flipflow data tokenizer`'s two halves: reading captions as staging would, and the counter. */
class ShardCaptionsTest {
  static S3Fixture s3;
  static S3Store store;

  @BeforeAll
  static void start() {
    s3 = S3Fixture.start();
    store = s3.store();
  }

  @AfterAll
  static void stop() throws Exception {
    store.close();
    s3.close();
  }

  private static WdsSample captioned(String key, String caption, String status) {
    return new WdsSample(
        key,
        status == null
            ? Map.of("txt", caption.getBytes())
            : Map.of(
                "txt",
                caption.getBytes(),
                "json",
                ("{\"status\": \"" + status + "\"}").getBytes()));
  }

  @Test
  void captionsOfDownloadedSamplesBecomeAVocabularyThatEncodesThem() throws Exception {
    store.createBucket("captions");
    S3Uri b = S3Uri.parse("s3://captions/laion/");
    List<WdsSample> first = new ArrayList<>();
    first.add(captioned("000", "A red square", "success"));
    first.add(captioned("001", "a red circle", null));
    first.add(captioned("002", "a lost zebra", "failed_to_download"));
    store.put(b.resolve("00000.tar"), Fixtures.tar(first));
    store.put(
        b.resolve("00001.tar"),
        Fixtures.tar(
            List.of(captioned("100", "a blue square", "success"), captioned("101", " ", null))));
    List<String> seen = new ArrayList<>();
    List<String> shards = new ArrayList<>();
    ShardCaptions.Summary r =
        ShardCaptions.read(
            store,
            S3Uri.parse("s3://captions/laion/{00000..00001}.tar"),
            StagingLimits.defaults(),
            seen::add,
            shards::add);

    assertEquals(List.of("A red square", "a red circle", "a blue square"), seen);
    assertEquals(2, r.shards());
    assertEquals(1, r.notDownloaded(), "img2dataset's failed sample is skipped, not counted");
    assertEquals(1, r.skipped(), "the blank caption");
    assertEquals(List.of(), r.lostShards());
    assertEquals(2, shards.size());

    try (WordLevelVocabulary.Counter counter = new WordLevelVocabulary.Counter()) {
      seen.forEach(counter::add);
      byte[] json = counter.tokenizerJson(3, 2);
      try (CaptionTokenizer t = CaptionTokenizer.load(json, 8, "test")) {
        // "a" (3 uses), "red" and "square" (2 each) are kept; circle and blue (1 use) are not
        assertEquals(4 + 3, t.vocabSize());
        assertEquals(List.of(), t.unknownWords("a red square"));
        assertEquals(List.of("blue"), t.unknownWords("a blue square"));
        assertEquals(List.of("zebra"), t.unknownWords("a zebra"), "never counted: not downloaded");
      }
      try (CaptionTokenizer t = CaptionTokenizer.load(counter.tokenizerJson(1, 1), 8, "test")) {
        assertEquals(5, t.vocabSize(), "max words keeps the most frequent only");
        assertEquals(List.of(), t.unknownWords("a"));
      }
    }
  }

  @Test
  void aShardThatIsNotATarIsNamedAndTheOthersStillCount() {
    store.createBucket("halfbad");
    S3Uri b = S3Uri.parse("s3://halfbad/d/");
    store.put(b.resolve("00000.tar"), Fixtures.tar(List.of(captioned("0", "a red square", null))));
    byte[] noise = new byte[4096];
    Arrays.fill(noise, (byte) 'x');
    store.put(b.resolve("00001.tar"), noise);
    List<String> seen = new ArrayList<>();
    ShardCaptions.Summary r =
        ShardCaptions.read(store, b, StagingLimits.defaults(), seen::add, s -> {});
    assertEquals(List.of("a red square"), seen);
    assertEquals(1, r.lostShards().size(), r.toString());
    assertTrue(
        r.lostShards().get(0).startsWith("s3://halfbad/d/00001.tar: "), r.lostShards().get(0));

    store.createBucket("allbad");
    store.put(S3Uri.parse("s3://allbad/00000.tar"), noise);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ShardCaptions.read(
                    store,
                    S3Uri.parse("s3://allbad/"),
                    StagingLimits.defaults(),
                    x -> {},
                    x -> {}));
    assertTrue(e.getMessage().contains("no shard could be read"), e.getMessage());
  }

  @Test
  void theCounterStaysBoundedOnHostileCaptions() {
    try (WordLevelVocabulary.Counter counter = new WordLevelVocabulary.Counter()) {
      StringBuilder caption = new StringBuilder("a ");
      for (int i = 0; i < 60; i++) {
        caption.append('z');
      }
      counter.add(caption.toString()); // one 60-letter "word": never kept
      assertEquals(1, counter.distinctWords());
      int n = WordLevelVocabulary.MAX_DISTINCT_WORDS + 10;
      StringBuilder many = new StringBuilder();
      for (int i = 0; i < n; i++) {
        many.append('w').append(i).append(' ');
        if (i % 10_000 == 9_999) {
          counter.add(many.toString());
          many.setLength(0);
          counter.add("a");
        }
      }
      counter.add(many.toString());
      assertTrue(
          counter.distinctWords() <= WordLevelVocabulary.MAX_DISTINCT_WORDS,
          "held " + counter.distinctWords());
      assertTrue(counter.droppedWords() > 0);
      try (CaptionTokenizer t = CaptionTokenizer.load(counter.tokenizerJson(10, 2), 8, "test")) {
        assertEquals(List.of(), t.unknownWords("a"), "the frequent word survives the pruning");
      }
    }
  }
}
