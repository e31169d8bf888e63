package io.flipflow.activities.data.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.activities.testing.S3Fixture;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** Which S3 failures are retried and which are not, and uploads larger than one part. */
class S3ErrorsTest {
  static final S3Uri URI = S3Uri.parse("s3://b/k");

  static S3Exception s3(int status, String code) {
    return (S3Exception)
        S3Exception.builder()
            .statusCode(status)
            .awsErrorDetails(AwsErrorDetails.builder().errorCode(code).build())
            .message(code)
            .build();
  }

  @Test
  void transientFailuresAreRetriedPermanentOnesAreNot() {
    for (String code :
        new String[] {"RequestTimeout", "ExpiredToken", "RequestTimeTooSkewed", "SlowDown"}) {
      int status = code.equals("RequestTimeTooSkewed") || code.equals("ExpiredToken") ? 403 : 400;
      assertInstanceOf(
          UncheckedIOException.class, S3Store.classify(URI, s3(status, code)), code + " retried");
    }
    assertInstanceOf(UncheckedIOException.class, S3Store.classify(URI, s3(503, "Whatever")));
    assertInstanceOf(
        IllegalArgumentException.class, S3Store.classify(URI, s3(403, "AccessDenied")));
    assertInstanceOf(
        IllegalArgumentException.class, S3Store.classify(URI, s3(403, "InvalidAccessKeyId")));
    assertInstanceOf(
        IllegalArgumentException.class, S3Store.classify(URI, s3(400, "EntityTooLarge")));
    RuntimeException imds =
        S3Store.classify(
            URI,
            SdkClientException.create(
                "Unable to load credentials from any of the providers in the chain: Failed to"
                    + " load credentials from IMDS."));
    assertInstanceOf(UncheckedIOException.class, imds, "a credentials service that did not answer");
    RuntimeException none =
        S3Store.classify(
            URI,
            SdkClientException.create(
                "Unable to load credentials from any of the providers in the chain:"
                    + " EnvironmentVariableCredentialsProvider: Access key must be specified"));
    assertInstanceOf(IllegalArgumentException.class, none, "no credentials configured at all");
  }

  @Test
  void aFileLargerThanAPartUploadsInPartsAndArrivesWhole(@TempDir Path dir) throws Exception {
    try (S3Fixture fixture = S3Fixture.start();
        S3Store store = S3Store.create(fixture.settings(), 5L << 20)) {
      store.createBucket("parts");
      Path file = dir.resolve("big.bin");
      byte[] bytes = new byte[(12 << 20) + 12345]; // three parts of 5 MiB, the last one short
      new Random(1).nextBytes(bytes);
      Files.write(file, bytes);
      S3Uri uri = S3Uri.parse("s3://parts/big.bin");
      S3Store.ObjectInfo put = store.putLarge(uri, file);
      assertTrue(put.etag().endsWith("-3"), "a multipart ETag names its 3 parts: " + put.etag());
      assertEquals(bytes.length, store.head(uri).orElseThrow().size());
      Path back = dir.resolve("back.bin");
      store.download(uri, back);
      assertEquals(sha256(bytes), sha256(Files.readAllBytes(back)));
    }
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }
}
