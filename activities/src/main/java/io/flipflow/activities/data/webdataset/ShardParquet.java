package io.flipflow.activities.data.webdataset;

import static org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName.BINARY;
import static org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName.INT32;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.compression.CompressionCodecFactory;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.Types;

/**
 * The {@code NNNNN.parquet} img2dataset writes beside each shard: one row per sample with its url,
 * caption, key, status and sizes, which tools such as img2dataset's own resharding and dataset
 * statistics read. Every column is nullable, as in img2dataset's (pandas-written) files.
 */
public final class ShardParquet {
  /** One sample's row; null where it is not known (an imported set has no url or original size). */
  public record Row(
      String url,
      String caption,
      String key,
      String status,
      String errorMessage,
      Integer width,
      Integer height,
      Integer originalWidth,
      Integer originalHeight,
      String sha256) {}

  public static final MessageType SCHEMA =
      Types.buildMessage()
          .optional(BINARY)
          .as(LogicalTypeAnnotation.stringType())
          .named("url")
          .optional(BINARY)
          .as(LogicalTypeAnnotation.stringType())
          .named("caption")
          .optional(BINARY)
          .as(LogicalTypeAnnotation.stringType())
          .named("key")
          .optional(BINARY)
          .as(LogicalTypeAnnotation.stringType())
          .named("status")
          .optional(BINARY)
          .as(LogicalTypeAnnotation.stringType())
          .named("error_message")
          .optional(INT32)
          .named("width")
          .optional(INT32)
          .named("height")
          .optional(INT32)
          .named("original_width")
          .optional(INT32)
          .named("original_height")
          .optional(BINARY)
          .as(LogicalTypeAnnotation.stringType())
          .named("sha256")
          .named("schema");

  private ShardParquet() {}

  /** Writes the rows to {@code file}, replacing it. */
  public static void write(Path file, List<Row> rows) throws IOException {
    SimpleGroupFactory groups = new SimpleGroupFactory(SCHEMA);
    try (ParquetWriter<Group> writer =
        ExampleParquetWriter.builder(new LocalOutputFile(file))
            .withConf(new PlainParquetConfiguration())
            .withType(SCHEMA)
            .withCompressionCodec(CompressionCodecName.UNCOMPRESSED)
            .withCodecFactory(UNCOMPRESSED)
            .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
            .build()) {
      for (Row r : rows) {
        Group g = groups.newGroup();
        put(g, "url", r.url());
        put(g, "caption", r.caption());
        put(g, "key", r.key());
        put(g, "status", r.status());
        put(g, "error_message", r.errorMessage());
        put(g, "width", r.width());
        put(g, "height", r.height());
        put(g, "original_width", r.originalWidth());
        put(g, "original_height", r.originalHeight());
        put(g, "sha256", r.sha256());
        writer.write(g);
      }
    }
  }

  private static void put(Group g, String field, Object value) {
    if (value instanceof String s) {
      g.append(field, s);
    } else if (value instanceof Integer i) {
      g.append(field, i);
    }
    // null: the optional column is left empty
  }

  /**
   * Pages written as they are. Parquet's own codec factory loads Hadoop's compression classes even
   * for no compression, and a sidecar of a thousand short rows gains nothing from a codec.
   */
  static final CompressionCodecFactory UNCOMPRESSED =
      new CompressionCodecFactory() {
        @Override
        public BytesInputCompressor getCompressor(CompressionCodecName codec) {
          return new BytesInputCompressor() {
            @Override
            public BytesInput compress(BytesInput bytes) {
              return bytes;
            }

            @Override
            public CompressionCodecName getCodecName() {
              return CompressionCodecName.UNCOMPRESSED;
            }

            @Override
            public void release() {}
          };
        }

        @Override
        public BytesInputDecompressor getDecompressor(CompressionCodecName codec) {
          if (codec != CompressionCodecName.UNCOMPRESSED) {
            throw new UnsupportedOperationException("only uncompressed pages, not " + codec);
          }
          return new BytesInputDecompressor() {
            @Override
            public BytesInput decompress(BytesInput bytes, int uncompressedSize) {
              return bytes;
            }

            @Override
            public void decompress(
                java.nio.ByteBuffer input,
                int compressedSize,
                java.nio.ByteBuffer output,
                int uncompressedSize) {
              output.put(input);
            }

            @Override
            public void release() {}
          };
        }

        @Override
        public void release() {}
      };
}
