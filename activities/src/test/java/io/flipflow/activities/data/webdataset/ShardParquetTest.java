package io.flipflow.activities.data.webdataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.tensorboard.TensorBoardVenv;
import io.flipflow.activities.testing.S3Fixture;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.parquet.format.FileMetaData;
import org.apache.parquet.format.SchemaElement;
import org.apache.parquet.format.Util;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The importers' shards carry img2dataset's parquet sidecar, written with no Hadoop on the
 * classpath (the build keeps it off the tests' classpath, as in production) and read back by
 * pyarrow.
 */
class ShardParquetTest {
  @TempDir Path work;

  @Test
  void everyShardGetsAParquetOfItsSamplesThatParquetReadsBack() throws Exception {
    assertFalse(onClasspath("org.apache.hadoop.conf.Configuration"), "Hadoop must not be here");
    byte[] png = new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3};
    try (S3Fixture s3 = S3Fixture.start();
        S3Store store = s3.store()) {
      store.createBucket("parquet");
      S3Uri folder = S3Uri.parse("s3://parquet/set/");
      try (ShardSink sink = new ShardSink(store, folder, 2)) {
        sink.write(
            new WdsSample(
                "a0",
                Map.of(
                    "png",
                    png,
                    "txt",
                    "a red square".getBytes(StandardCharsets.UTF_8),
                    "json",
                    "{\"url\": \"https://e.org/a0.png\", \"width\": 64, \"height\": 48}"
                        .getBytes(StandardCharsets.UTF_8))));
        sink.write(new WdsSample("a1", Map.of("png", png, "txt", "a blue square".getBytes())));
        sink.write(new WdsSample("a2", Map.of("png", png, "json", "not json".getBytes())));
      }
      // parquet's own footer, read without Hadoop: row counts and columns, on every machine
      Path firstFile = download(store, folder.resolve("00000.parquet"));
      Path secondFile = download(store, folder.resolve("00001.parquet"));
      FileMetaData footer = footer(firstFile);
      assertEquals(2, footer.getNum_rows());
      assertEquals(1, footer(secondFile).getNum_rows());
      assertEquals(
          List.of(
              "schema",
              "url",
              "caption",
              "key",
              "status",
              "error_message",
              "width",
              "height",
              "original_width",
              "original_height",
              "sha256"),
          footer.getSchema().stream().map(SchemaElement::getName).toList());

      // and pyarrow, which img2dataset's tools read it with, sees every value
      TensorBoardVenv.assumeInstalled();
      JsonObject read = TensorBoardVenv.run("read_parquet.py", firstFile.toString());
      JsonObject schema = read.getAsJsonObject("schema");
      assertEquals("string", schema.get("caption").getAsString());
      assertEquals("int32", schema.get("width").getAsString());
      JsonArray rows = read.getAsJsonArray("rows");
      JsonObject a0 = rows.get(0).getAsJsonObject();
      assertEquals("a0", a0.get("key").getAsString());
      assertEquals("a red square", a0.get("caption").getAsString());
      assertEquals("https://e.org/a0.png", a0.get("url").getAsString());
      assertEquals("success", a0.get("status").getAsString());
      assertEquals(64, a0.get("width").getAsInt());
      assertEquals(48, a0.get("height").getAsInt());
      assertTrue(a0.get("original_width").isJsonNull(), "unknown: null");
      assertEquals(
          HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(png)),
          a0.get("sha256").getAsString());
      JsonObject a1 = rows.get(1).getAsJsonObject();
      assertEquals("a blue square", a1.get("caption").getAsString());
      assertTrue(a1.get("url").isJsonNull());
      JsonObject a2 =
          TensorBoardVenv.run("read_parquet.py", secondFile.toString())
              .getAsJsonArray("rows")
              .get(0)
              .getAsJsonObject();
      assertEquals("a2", a2.get("key").getAsString());
      assertTrue(a2.get("caption").isJsonNull(), "no caption: null");
    }
  }

  private Path download(S3Store store, S3Uri uri) throws Exception {
    Path file = work.resolve(uri.fileName());
    Files.write(file, store.getBytes(uri));
    return file;
  }

  /** The thrift footer: its length and "PAR1" are the file's last 8 bytes. */
  private static FileMetaData footer(Path file) throws Exception {
    byte[] all = Files.readAllBytes(file);
    int n = all.length;
    assertEquals("PAR1", new String(all, n - 4, 4, StandardCharsets.US_ASCII));
    int length = ByteBuffer.wrap(all, n - 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    return Util.readFileMetaData(new ByteArrayInputStream(all, n - 8 - length, length));
  }

  private static boolean onClasspath(String name) {
    try {
      Class.forName(name);
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }
}
