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
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.transfer.s3.S3TransferManager;
import software.amazon.awssdk.transfer.s3.model.CompletedFileUpload;
import software.amazon.awssdk.transfer.s3.model.UploadFileRequest;

/**
 * The S3 operations flipflow needs, with errors sorted the way the activity layer needs them:
 * {@link IllegalArgumentException} (will not get better on retry: missing bucket, missing object,
 * no match, access denied, no credentials) names the URI; {@link UncheckedIOException} is transient
 * and left to the activity's retry after the SDK's own retries (5xx, resets) are spent.
 *
 * <p>Over 350 lines because the error sorting is one table for every operation; splitting the
 * operations apart would copy it.
 */
public class S3Store implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(S3Store.class);
  private static final int DOWNLOAD_ATTEMPTS = 3;

  /** One object as listed: its URI, size in bytes and ETag without quotes. */
  public record ObjectInfo(S3Uri uri, long size, String etag) {}

  /** The default part size of large uploads (S3's parts are 5 MiB to 5 GiB, 10,000 at most). */
  public static final long DEFAULT_PART_BYTES = 64L << 20;

  private final S3Client client;
  private final S3Settings settings;
  private final long partBytes;
  private S3TransferManager transfers;
  private S3AsyncClient asyncClient;

  public S3Store(S3Client client) {
    this(client, null, DEFAULT_PART_BYTES);
  }

  private S3Store(S3Client client, S3Settings settings, long partBytes) {
    this.client = client;
    this.settings = settings;
    this.partBytes = partBytes;
  }

  public static S3Store create(S3Settings settings) {
    return create(settings, DEFAULT_PART_BYTES);
  }

  /**
   * @param partBytes files larger than this upload in parts of this size ({@code
   *     s3.part_size_bytes})
   */
  public static S3Store create(S3Settings settings, long partBytes) {
    if (partBytes < 1 << 20) {
      throw new IllegalArgumentException(
          "s3.part_size_bytes: at least 1 MiB (S3 itself wants 5 MiB), got " + partBytes);
    }
    return new S3Store(S3Clients.create(settings), settings, partBytes);
  }

  /**
   * Uploads a file of any size: in one request up to the part size, else in parts through the SDK's
   * transfer manager (a single PutObject stops at 5 GB; a ViT-H checkpoint is about 9 GiB).
   */
  public ObjectInfo putLarge(S3Uri uri, Path file) {
    try {
      long size = Files.size(file);
      if (size <= partBytes || settings == null) {
        return put(uri, file);
      }
      var upload =
          transfers()
              .uploadFile(
                  UploadFileRequest.builder()
                      .putObjectRequest(b -> b.bucket(uri.bucket()).key(uri.key()))
                      .source(file)
                      .build());
      CompletedFileUpload done =
          call(
              uri,
              () -> {
                try {
                  return upload.completionFuture().join();
                } catch (java.util.concurrent.CompletionException e) {
                  if (e.getCause() instanceof RuntimeException re) {
                    throw re;
                  }
                  throw e;
                }
              });
      return new ObjectInfo(uri, size, unquote(done.response().eTag()));
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + file + " to upload to " + uri, e);
    }
  }

  private synchronized S3TransferManager transfers() {
    if (transfers == null) {
      asyncClient = S3Clients.createAsync(settings, partBytes);
      transfers = S3TransferManager.builder().s3Client(asyncClient).build();
    }
    return transfers;
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

  /** Deletes every object under {@code folder} (a benchmark's scratch copies); returns how many. */
  public int deleteFolder(S3Uri folder) {
    List<ObjectInfo> objects = list(folder);
    for (ObjectInfo o : objects) {
      call(
          o.uri(),
          () ->
              client.deleteObject(
                  software.amazon.awssdk.services.s3.model.DeleteObjectRequest.builder()
                      .bucket(o.uri().bucket())
                      .key(o.uri().key())
                      .build()));
    }
    return objects.size();
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
    } catch (SdkException e) {
      throw classify(uri, e);
    }
  }

  /**
   * S3 error codes that pass with time (throttling, an expired session token a provider renews, a
   * clock a moment off, a slow request) although their HTTP status is a 4xx.
   */
  static final java.util.Set<String> TRANSIENT_CODES =
      java.util.Set.of(
          "RequestTimeout",
          "ExpiredToken",
          "TokenRefreshRequired",
          "RequestTimeTooSkewed",
          "SlowDown",
          "Throttling",
          "ThrottlingException",
          "RequestLimitExceeded",
          "ServiceUnavailable",
          "InternalError");

  /**
   * An SDK failure as the activity layer needs it: IllegalArgumentException when it will not get
   * better (missing bucket or object, access denied, a bad request, no credentials configured),
   * UncheckedIOException when it may (5xx, throttling, timeouts, an expired token, a credentials
   * service that did not answer) after the SDK's own retries.
   */
  static RuntimeException classify(S3Uri uri, SdkException e) {
    if (e instanceof NoSuchBucketException) {
      return new IllegalArgumentException(
          "S3 bucket '" + uri.bucket() + "' does not exist (" + uri + ")", e);
    }
    if (e instanceof NoSuchKeyException) {
      return new NotFound("S3 object " + uri + " does not exist");
    }
    if (e instanceof S3Exception s3) {
      int status = s3.statusCode();
      String code = errorCode(s3);
      if (TRANSIENT_CODES.contains(code) || status >= 500 || status == 408 || status == 429) {
        return new UncheckedIOException(
            "S3 error for " + uri + " (" + status + " " + code + ", retries spent)",
            new IOException(s3.getMessage(), s3));
      }
      if (status == 404) {
        if ("NoSuchBucket".equals(code)) {
          return new IllegalArgumentException(
              "S3 bucket '" + uri.bucket() + "' does not exist (" + uri + ")", e);
        }
        return new NotFound("S3 object " + uri + " does not exist");
      }
      if (status == 403 || status == 401) {
        return new IllegalArgumentException(
            "S3 access denied for " + uri + " (check the credentials): " + code, e);
      }
      return new IllegalArgumentException(
          "S3 rejected the request for " + uri + ": " + s3.getMessage(), e);
    }
    if (e instanceof SdkClientException) {
      String m = String.valueOf(e.getMessage());
      boolean credentials = m.contains("credentials");
      boolean unanswered =
          m.contains("IMDS")
              || m.contains("metadata")
              || m.contains("imed out")
              || m.contains("Timeout")
              || m.contains("connect");
      if (credentials && !unanswered) {
        return new IllegalArgumentException(
            "no usable S3 credentials for " + uri + " (none configured): " + m, e);
      }
      return new UncheckedIOException(
          (credentials ? "S3 credentials not available yet for " : "S3 unreachable for ")
              + uri
              + " (retries spent)",
          new IOException(m, e));
    }
    return new UncheckedIOException("S3 failure for " + uri, new IOException(e.getMessage(), e));
  }

  private static String errorCode(S3Exception e) {
    return e.awsErrorDetails() == null ? "" : String.valueOf(e.awsErrorDetails().errorCode());
  }

  private static String unquote(String etag) {
    return etag == null ? "" : etag.replace("\"", "");
  }

  @Override
  public void close() {
    synchronized (this) {
      if (transfers != null) {
        transfers.close();
        asyncClient.close();
      }
    }
    client.close();
  }
}
