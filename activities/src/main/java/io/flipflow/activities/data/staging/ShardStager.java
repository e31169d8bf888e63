package io.flipflow.activities.data.staging;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.flipflow.activities.data.image.ImagePreprocessor;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.data.webdataset.WdsReader;
import io.flipflow.activities.data.webdataset.WdsSample;
import java.awt.image.BufferedImage;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stages one shard: downloads it verified (size, and MD5 for single-part ETags; once more on a
 * mismatch), decodes and preprocesses every image, tokenizes every caption, writes the fixed
 * records to {@code shards/NNNNN.bin} and then the marker {@code shards/NNNNN.json} that makes a
 * retry skip it.
 */
public final class ShardStager {
  private static final Logger log = LoggerFactory.getLogger(ShardStager.class);
  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

  /** How one shard was staged; also its done-marker in S3 (JSON). */
  record ShardResult(
      String source,
      long samples,
      long bad,
      List<StageData.DataIssue> issues,
      String bin,
      long bytes,
      String etag,
      boolean failed,
      Long expected,
      long failedDownloads) {

    /** The same result without its sample issues, which the marker and data_issues keep. */
    ShardResult withoutIssues() {
      return new ShardResult(
          source, samples, bad, List.of(), bin, bytes, etag, failed, expected, failedDownloads);
    }
  }

  private final S3Store store;
  private final StagingLimits limits;

  /** Where shard {@code index}'s done-marker is, under the staged set's root. */
  static String markerName(int index) {
    return String.format("shards/%05d.json", index);
  }

  public ShardStager(S3Store store) {
    this(store, StagingLimits.defaults());
  }

  public ShardStager(S3Store store, StagingLimits limits) {
    this.store = store;
    this.limits = limits;
  }

  ShardResult stage(
      int index,
      S3Store.ObjectInfo src,
      S3Uri root,
      Path dir,
      ImagePreprocessor pre,
      StagedManifest.Format format,
      CaptionTokenizer tokenizer,
      StageData.Listener listener)
      throws IOException {
    String name = String.format("%05d", index);
    S3Uri marker = root.resolve(markerName(index));
    if (store.exists(marker)) { // finished by an earlier attempt
      ShardResult r =
          GSON.fromJson(
              new String(store.getBytes(marker), StandardCharsets.UTF_8), ShardResult.class);
      r.issues().forEach(listener::issue);
      return r;
    }
    String shardName = src.uri().toString();
    List<StageData.DataIssue> issues = new ArrayList<>();
    Path tar = dir.resolve(name + ".tar");
    Path bin = dir.resolve(name + ".bin");
    try {
      boolean verified = downloadVerified(src, tar) || downloadVerified(src, tar);
      long samples = 0;
      long bad = 0;
      long failedDownloads = 0;
      boolean failed = false;
      String lostBecause = null;
      if (!verified) {
        failed = true;
        lostBecause =
            "size or checksum mismatch after re-download ("
                + src.size()
                + " bytes, ETag "
                + src.etag()
                + " expected)";
      } else {
        int pixels = 3 * pre.resolution() * pre.resolution();
        int recordBytes = pixels + 4 * tokenizer.contextLength();
        byte[] record = new byte[recordBytes];
        int[] tokens = new int[tokenizer.contextLength()];
        ByteBuffer recordView = ByteBuffer.wrap(record).order(ByteOrder.LITTLE_ENDIAN);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(tar), 1 << 16);
            WdsReader reader = new WdsReader(in, limits.maxMemberBytes());
            OutputStream out = new BufferedOutputStream(Files.newOutputStream(bin), 1 << 16)) {
          String lastKey = "";
          while (true) {
            WdsSample s;
            try {
              s = reader.next();
            } catch (IOException e) {
              failed = true;
              issues.add(
                  new StageData.DataIssue(
                      shardName,
                      lastKey,
                      "shard lost from here: unreadable tar after this key: " + e.getMessage()));
              break;
            }
            if (s == null) {
              if (!endsWithEofMarker(tar)) { // a cut inside a header reads as a clean end otherwise
                failed = true;
                issues.add(
                    new StageData.DataIssue(
                        shardName,
                        lastKey,
                        "shard lost from here: truncated tar after this key, no end-of-archive"
                            + " blocks"));
              }
              break;
            }
            lastKey = s.key();
            if (s.oversized().isEmpty() && notDownloaded(s)) {
              failedDownloads++; // img2dataset's own record of a URL it could not fetch
              continue;
            }
            String problem = null;
            var image = s.image();
            var caption = s.caption();
            byte[] txt = s.members().get("txt");
            if (!s.oversized().isEmpty()) {
              problem =
                  "member(s) over the "
                      + limits.maxMemberBytes()
                      + "-byte limit (staging.max_member_bytes), left unread: "
                      + s.oversized();
            } else if (txt != null && txt.length > limits.maxCaptionBytes()) {
              problem =
                  "caption is "
                      + txt.length
                      + " bytes, over the "
                      + limits.maxCaptionBytes()
                      + "-byte limit (staging.max_caption_bytes)";
            } else if (image.isEmpty()) {
              problem = "no image member (jpg, png or webp) among " + s.members().keySet();
            } else if (caption.isEmpty()) {
              problem = "missing caption (.txt)";
            } else if (caption.get().isEmpty()) {
              problem = "empty caption";
            }
            byte[] encoded = null;
            if (problem == null) {
              try {
                byte[] source = image.get().getValue();
                BufferedImage img = ImagePreprocessor.decode(source, limits.maxImagePixels());
                if (format == StagedManifest.Format.RAW) {
                  pre.toChw(img, record, 0);
                } else {
                  encoded = encoded(source, image.get().getKey(), img, pre);
                }
              } catch (IllegalArgumentException e) {
                problem = e.getMessage() + " (" + s.key() + "." + image.get().getKey() + ")";
              }
            }
            if (problem != null) {
              issues.add(new StageData.DataIssue(shardName, s.key(), problem));
              bad++;
              continue;
            }
            synchronized (tokenizer) { // one native tokenizer shared by the shard threads
              tokenizer.encodeInto(caption.get(), tokens, 0);
            }
            if (encoded == null) {
              for (int i = 0; i < tokens.length; i++) {
                recordView.putInt(pixels + 4 * i, tokens[i]);
              }
              out.write(record);
            } else {
              ByteBuffer head =
                  ByteBuffer.allocate(4 + encoded.length + 4 * tokens.length)
                      .order(ByteOrder.LITTLE_ENDIAN);
              head.putInt(encoded.length).put(encoded);
              for (int token : tokens) {
                head.putInt(token);
              }
              out.write(head.array());
            }
            samples++;
          }
        }
      }
      String binUri = "";
      long bytes = 0;
      String etag = "";
      if (samples > 0) {
        S3Store.ObjectInfo put = store.put(root.resolve("shards/" + name + ".bin"), bin);
        binUri = put.uri().toString();
        bytes = put.size();
        etag = put.etag();
      }
      Long expected = failed ? expectedSamples(src.uri()) : null;
      if (failed) {
        issues.add(
            new StageData.DataIssue(
                shardName,
                "",
                "shard lost"
                    + (lostBecause == null ? "" : ": " + lostBecause)
                    + ": "
                    + samples
                    + " sample(s) read"
                    + (expected == null
                        ? "; the source does not say how many it held"
                        : " of the " + expected + " its source lists")));
      }
      ShardResult r =
          new ShardResult(
              shardName,
              samples,
              bad,
              issues,
              binUri,
              bytes,
              etag,
              failed,
              expected,
              failedDownloads);
      issues.forEach(listener::issue);
      store.put(
          marker, GSON.toJson(r).getBytes(StandardCharsets.UTF_8)); // after the .bin: marks it done
      return r;
    } finally {
      Files.deleteIfExists(tar);
      Files.deleteIfExists(bin);
    }
  }

  /**
   * An encoded record's image: the source's bytes when it is at or under the resolution (the
   * reader's preprocessing of them is staging's), else the preprocessed image re-encoded, PNG for a
   * PNG source, JPEG at quality 0.95 otherwise.
   */
  static byte[] encoded(byte[] source, String ext, BufferedImage img, ImagePreprocessor pre) {
    if (img.getWidth() <= pre.resolution() && img.getHeight() <= pre.resolution()) {
      return source;
    }
    BufferedImage canvas = pre.toCanvas(img);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try {
      if ("png".equals(ext)) {
        javax.imageio.ImageIO.write(canvas, "png", out);
      } else {
        javax.imageio.ImageWriter writer =
            javax.imageio.ImageIO.getImageWritersByFormatName("jpeg").next();
        javax.imageio.ImageWriteParam param = writer.getDefaultWriteParam();
        param.setCompressionMode(javax.imageio.ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(0.95f);
        try (var stream = javax.imageio.ImageIO.createImageOutputStream(out)) {
          writer.setOutput(stream);
          writer.write(null, new javax.imageio.IIOImage(canvas, null, null), param);
        } finally {
          writer.dispose();
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("re-encoding a staged image", e);
    }
    return out.toByteArray();
  }

  /**
   * Whether img2dataset's {@code .json} says this sample was not downloaded: a {@code status} other
   * than {@code success} ({@code failed_to_download}, {@code failed_to_resize}). Such samples are
   * skipped and counted, not reported as corrupt; a json that does not parse says nothing.
   */
  static boolean notDownloaded(WdsSample s) {
    byte[] json = s.members().get("json");
    if (json == null) {
      return false;
    }
    try {
      var parsed = JsonParser.parseString(new String(json, StandardCharsets.UTF_8));
      if (!parsed.isJsonObject() || !parsed.getAsJsonObject().has("status")) {
        return false;
      }
      var status = parsed.getAsJsonObject().get("status");
      return status.isJsonPrimitive() && !"success".equals(status.getAsString());
    } catch (RuntimeException e) {
      return false;
    }
  }

  /**
   * How many samples the source says shard {@code tar} held: img2dataset's {@code NNNNN_stats.json}
   * ({@code successes}) beside it, else the folder's {@code sizes.json}; null when neither says.
   * Small files only: anything over 1 MiB is not read.
   */
  Long expectedSamples(S3Uri tar) {
    String name = tar.fileName();
    String stem = name.endsWith(".tar") ? name.substring(0, name.length() - 4) : name;
    try {
      JsonObject stats = smallJson(tar.parent().resolve(stem + "_stats.json"));
      if (stats != null && stats.has("successes")) {
        return stats.get("successes").getAsLong();
      }
      JsonObject sizes = smallJson(tar.parent().resolve("sizes.json"));
      if (sizes != null && sizes.has(name)) {
        return sizes.get(name).getAsLong();
      }
    } catch (RuntimeException e) {
      log.warn("{}: no usable sample count beside it: {}", tar, e.toString());
    }
    return null;
  }

  private JsonObject smallJson(S3Uri uri) {
    var head = store.head(uri);
    if (head.isEmpty() || head.get().size() > (1 << 20)) {
      return null;
    }
    return JsonParser.parseString(new String(store.getBytes(uri), StandardCharsets.UTF_8))
        .getAsJsonObject();
  }

  /** Downloads and checks size and, for single-part ETags (hex MD5), the MD5. */
  public boolean downloadVerified(S3Store.ObjectInfo src, Path target) throws IOException {
    store.download(src.uri(), target);
    long size = Files.size(target);
    if (size != src.size()) {
      log.warn("{}: {} bytes downloaded, {} listed", src.uri(), size, src.size());
      return false;
    }
    if (src.etag().matches("[0-9a-fA-F]{32}")) {
      String md5 = md5(target);
      if (!md5.equalsIgnoreCase(src.etag())) {
        log.warn("{}: MD5 {} differs from ETag {}", src.uri(), md5, src.etag());
        return false;
      }
    }
    return true;
  }

  /** A complete tar ends in (at least) two zero 512-byte blocks and is a whole number of blocks. */
  static boolean endsWithEofMarker(Path tar) throws IOException {
    long size = Files.size(tar);
    if (size < 1024 || size % 512 != 0) {
      return false;
    }
    try (var ch = java.nio.channels.FileChannel.open(tar)) {
      ByteBuffer tail = ByteBuffer.allocate(1024);
      while (tail.hasRemaining() && ch.read(tail, size - 1024 + tail.position()) > 0) {}
      for (byte b : tail.array()) {
        if (b != 0) return false;
      }
      return true;
    }
  }

  private static String md5(Path file) throws IOException {
    try (DigestInputStream in =
        new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("MD5"))) {
      in.transferTo(OutputStream.nullOutputStream());
      return HexFormat.of().formatHex(in.getMessageDigest().digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
