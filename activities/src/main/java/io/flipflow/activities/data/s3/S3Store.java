package io.flipflow.activities.data.s3;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * The S3 operations flipflow needs, with errors sorted the way the activity layer needs them:
 * {@link IllegalArgumentException} (will not get better on retry: missing bucket, missing object,
 * no match, access denied, no credentials) names the URI; {@link UncheckedIOException} is transient
 * and left to the activity's retry after the SDK's own retries (5xx, resets) are spent.
 */
public class S3Store implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(S3Store.class);
  private static final int DOWNLOAD_ATTEMPTS = 3;

  /** One object as listed: its URI, size in bytes and ETag without quotes. */
  public record ObjectInfo(S3Uri uri, long size, String etag) {}

  private final S3Client client;

  public S3Store(S3Client client) {
    this.client = client;
  }

  public static S3Store create(S3Settings settings) {
    return new S3Store(S3Clients.create(settings));
  }

  public S3Client client() {
    return client;
  }

  /** Every object under {@code folder} (taken as a prefix ending in '/'), sorted by key. */
  public List<ObjectInfo> list(S3Uri folder) {
    return call(
        folder,
        () -> {
          List<ObjectInfo> out = new ArrayList<>();
          var request =
              ListObjectsV2Request.builder()
                  .bucket(folder.bucket())
                  .prefix(folder.prefix())
                  .build();
          for (var page : client.listObjectsV2Paginator(request)) {
            for (var o : page.contents()) {
              out.add(
                  new ObjectInfo(new S3Uri(folder.bucket(), o.key()), o.size(), unquote(o.eTag())));
            }
          }
          out.sort(Comparator.comparing(o -> o.uri().key()));
          return out;
        });
  }

  /**
   * The shards a user names: a brace pattern ({@code s3://b/p/{00000..00041}.tar}: every one must
   * exist), a single {@code .tar} object, or a folder (every {@code .tar} directly under it).
   */
  public List<ObjectInfo> resolveShards(S3Uri source) {
    return resolveShards(source, Integer.MAX_VALUE);
  }

  /** As {@link #resolveShards(S3Uri)}, refusing a data set of more than {@code maxShards}. */
  public List<ObjectInfo> resolveShards(S3Uri source, int maxShards) {
    if (source.isBracePattern()) {
      List<ObjectInfo> out = new ArrayList<>();
      for (S3Uri uri : source.expand(maxShards)) {
        out.add(
            head(uri)
                .orElseThrow(
                    () ->
                        new IllegalArgumentException(
                            "shard " + uri + " named by " + source + " does not exist")));
      }
      return out;
    }
    if (source.key().endsWith(".tar")) {
      return List.of(
          head(source)
              .orElseThrow(() -> new IllegalArgumentException("shard " + source + " not found")));
    }
    String prefix = source.prefix();
    List<ObjectInfo> shards =
        list(source).stream()
            .filter(o -> o.uri().key().endsWith(".tar"))
            .filter(o -> o.uri().key().indexOf('/', prefix.length()) < 0)
            .toList();
    if (shards.isEmpty()) {
      throw new IllegalArgumentException("no .tar shards under " + source);
    }
    if (shards.size() > maxShards) {
      throw new IllegalArgumentException(
          source
              + " holds "
              + shards.size()
              + " shards, over the limit of "
              + maxShards
              + " (staging.max_shards)");
    }
    return shards;
  }

  /** The object's size and ETag, or empty if it does not exist (a missing bucket throws). */
  public Optional<ObjectInfo> head(S3Uri uri) {
    try {
      HeadObjectResponse r =
          call(uri, () -> client.headObject(b -> b.bucket(uri.bucket()).key(uri.key())));
      return Optional.of(new ObjectInfo(uri, r.contentLength(), unquote(r.eTag())));
    } catch (NotFound e) {
      return Optional.empty();
    }
  }

  public boolean exists(S3Uri uri) {
    return head(uri).isPresent();
  }

  public ObjectInfo put(S3Uri uri, byte[] bytes) {
    var r =
        call(
            uri,
            () ->
                client.putObject(
                    b -> b.bucket(uri.bucket()).key(uri.key()), RequestBody.fromBytes(bytes)));
    return new ObjectInfo(uri, bytes.length, unquote(r.eTag()));
  }

  public ObjectInfo put(S3Uri uri, Path file) {
    try {
      long size = Files.size(file);
      var r =
          call(
              uri,
              () ->
                  client.putObject(
                      b -> b.bucket(uri.bucket()).key(uri.key()), RequestBody.fromFile(file)));
      return new ObjectInfo(uri, size, unquote(r.eTag()));
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + file + " to upload to " + uri, e);
    }
  }

  public byte[] getBytes(S3Uri uri) {
    return withDownloadRetries(
        uri,
        () ->
            call(
                uri,
                () ->
                    client
                        .getObjectAsBytes(b -> b.bucket(uri.bucket()).key(uri.key()))
                        .asByteArray()));
  }

  /** Downloads to {@code target} through a temporary file, so a broken transfer leaves nothing. */
  public void download(S3Uri uri, Path target) {
    withDownloadRetries(
        uri,
        () -> {
          try {
            Files.createDirectories(target.toAbsolutePath().getParent());
            Path tmp = Files.createTempFile(target.toAbsolutePath().getParent(), ".dl-", ".part");
            try {
              Files.delete(tmp);
              call(
                  uri,
                  () ->
                      client.getObject(
                          b -> b.bucket(uri.bucket()).key(uri.key()),
                          ResponseTransformer.toFile(tmp)));
              Files.move(
                  tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
              Files.deleteIfExists(tmp);
            }
            return null;
          } catch (IOException e) {
            throw new UncheckedIOException("downloading " + uri + " to " + target, e);
          }
        });
  }

  public void createBucket(String bucket) {
    S3Uri uri = new S3Uri(bucket, "");
    call(uri, () -> client.createBucket(b -> b.bucket(bucket)));
  }

  /**
   * Fails with the URI named when the bucket does not exist or cannot be reached with these keys.
   */
  public void requireBucket(S3Uri uri) {
    call(uri, () -> client.headBucket(b -> b.bucket(uri.bucket())));
  }

  // The SDK retries each request; a body that breaks while streaming is retried here too.
  private <T> T withDownloadRetries(S3Uri uri, Supplier<T> action) {
    for (int attempt = 1; ; attempt++) {
      try {
        return action.get();
      } catch (UncheckedIOException e) {
        if (attempt >= DOWNLOAD_ATTEMPTS) {
          throw e;
        }
        log.warn("download of {} failed (attempt {}), retrying: {}", uri, attempt, e.getMessage());
        sleep(200L * attempt);
      }
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UncheckedIOException(new java.io.InterruptedIOException("interrupted"));
    }
  }

  /** Thrown inside {@link #head} for a missing key only; callers see IllegalArgumentException. */
  static final class NotFound extends IllegalArgumentException {
    NotFound(String message) {
      super(message);
    }
  }

  private static <T> T call(S3Uri uri, Supplier<T> action) {
    try {
      return action.get();
    } catch (NoSuchBucketException e) {
      throw new IllegalArgumentException(
          "S3 bucket '" + uri.bucket() + "' does not exist (" + uri + ")", e);
    } catch (NoSuchKeyException e) {
      throw new NotFound("S3 object " + uri + " does not exist");
    } catch (S3Exception e) {
      int status = e.statusCode();
      if (status == 404) {
        if ("NoSuchBucket".equals(errorCode(e))) {
          throw new IllegalArgumentException(
              "S3 bucket '" + uri.bucket() + "' does not exist (" + uri + ")", e);
        }
        throw new NotFound("S3 object " + uri + " does not exist");
      }
      if (status == 403 || status == 401) {
        throw new IllegalArgumentException(
            "S3 access denied for " + uri + " (check the credentials): " + errorCode(e), e);
      }
      if (status >= 400 && status < 500 && status != 408 && status != 429) {
        throw new IllegalArgumentException(
            "S3 rejected the request for " + uri + ": " + e.getMessage(), e);
      }
      throw new UncheckedIOException(
          "S3 error for " + uri + " (retries spent)", new IOException(e.getMessage(), e));
    } catch (SdkClientException e) {
      String m = String.valueOf(e.getMessage());
      if (m.contains("credentials")) {
        throw new IllegalArgumentException("no usable S3 credentials for " + uri + ": " + m, e);
      }
      throw new UncheckedIOException(
          "S3 unreachable for " + uri + " (retries spent)", new IOException(m, e));
    } catch (SdkException e) {
      throw new UncheckedIOException("S3 failure for " + uri, new IOException(e.getMessage(), e));
    }
  }

  private static String errorCode(S3Exception e) {
    return e.awsErrorDetails() == null ? "" : String.valueOf(e.awsErrorDetails().errorCode());
  }

  private static String unquote(String etag) {
    return etag == null ? "" : etag.replace("\"", "");
  }

  @Override
  public void close() {
    client.close();
  }
}
