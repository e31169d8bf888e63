package io.flipflow.activities.data.staging;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.webdataset.WdsReader;
import io.flipflow.activities.data.webdataset.WdsSample;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;

/**
 * The captions of a WebDataset source as staging would read them (img2dataset's samples that were
 * not downloaded skipped, members and captions bounded by the staging limits), streamed shard by
 * shard from S3 without a local copy: what a vocabulary is built from.
 */
public final class ShardCaptions {

  /**
   * What a pass read.
   *
   * @param lostShards shards that did not read to their end (named, with why); their captions up to
   *     there were counted
   */
  public record Summary(
      long shards, long captions, long notDownloaded, long skipped, List<String> lostShards) {}

  private ShardCaptions() {}

  /**
   * Hands every caption of {@code source}'s shards to {@code caption}, in shard order; {@code
   * progress} hears each shard's name after it is read. Fails, naming the source, when no shard
   * matches or every shard is unreadable.
   */
  public static Summary read(
      S3Store store,
      S3Uri source,
      StagingLimits limits,
      Consumer<String> caption,
      Consumer<String> progress) {
    List<S3Store.ObjectInfo> shards = store.resolveShards(source, limits.maxShards());
    if (shards.isEmpty()) {
      throw new IllegalArgumentException("--from " + source + ": no shard matches");
    }
    long captions = 0;
    long notDownloaded = 0;
    long skipped = 0;
    List<String> lost = new ArrayList<>();
    for (S3Store.ObjectInfo shard : shards) {
      GetObjectRequest get =
          GetObjectRequest.builder().bucket(shard.uri().bucket()).key(shard.uri().key()).build();
      try (InputStream in = store.client().getObject(get);
          WdsReader reader = new WdsReader(in, limits.maxMemberBytes())) {
        for (WdsSample s = reader.next(); s != null; s = reader.next()) {
          if (s.oversized().isEmpty() && ShardStager.notDownloaded(s)) {
            notDownloaded++;
            continue;
          }
          byte[] txt = s.members().get("txt");
          if (txt == null || txt.length > limits.maxCaptionBytes()) {
            skipped++;
            continue;
          }
          String text = new String(txt, StandardCharsets.UTF_8).trim();
          if (text.isEmpty()) {
            skipped++;
            continue;
          }
          caption.accept(text);
          captions++;
        }
      } catch (IOException | RuntimeException e) {
        if (e instanceof software.amazon.awssdk.core.exception.SdkClientException) {
          throw (RuntimeException) e; // S3 unreachable: not the shard's fault
        }
        lost.add(shard.uri() + ": " + e.getMessage());
      }
      progress.accept(shard.uri().toString());
    }
    if (lost.size() == shards.size()) {
      throw new IllegalArgumentException(
          "--from " + source + ": no shard could be read; first: " + lost.get(0));
    }
    return new Summary(shards.size(), captions, notDownloaded, skipped, List.copyOf(lost));
  }
}
