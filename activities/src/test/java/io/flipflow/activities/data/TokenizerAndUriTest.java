package io.flipflow.activities.data;

import static org.junit.jupiter.api.Assertions.*;

import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenizerAndUriTest {
  @Test
  void braceSpellingExpandsLikeWebDataset() {
    var uris = S3Uri.parse("s3://b/p/{00000..00002}.tar").expand();
    assertEquals(
        List.of("p/00000.tar", "p/00001.tar", "p/00002.tar"),
        uris.stream().map(S3Uri::key).toList());
    assertEquals("p/", S3Uri.parse("s3://b/p").prefix());
    assertThrows(IllegalArgumentException.class, () -> S3Uri.parse("http://b/p"));
  }

  @Test
  void rowsAreSotTokensEotThenZerosAndTruncationKeepsEot() {
    byte[] json = WordLevelVocabulary.build(List.of("a red square", "a blue circle"));
    try (CaptionTokenizer tok = CaptionTokenizer.load(json, 5, "test")) {
      assertEquals(4 + 5, tok.vocabSize());
      int[] row = tok.encode("A red square");
      assertEquals(tok.sotId(), row[0]);
      assertEquals(tok.eotId(), row[4]);
      assertEquals(List.of(), tok.unknownWords("a red square"));
      int[] shortRow = tok.encode("red");
      assertArrayEquals(new int[] {tok.sotId(), shortRow[1], tok.eotId(), 0, 0}, shortRow);
      int[] cut = tok.encode("a red square a blue circle");
      assertEquals(tok.eotId(), cut[4]);
      assertEquals(List.of("green"), tok.unknownWords("a green square"));
    }
  }
}
