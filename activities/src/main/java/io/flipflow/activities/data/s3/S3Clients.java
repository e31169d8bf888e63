package io.flipflow.activities.data.s3;

import java.time.Duration;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.multipart.MultipartConfiguration;

/** Builds the AWS SDK client from {@link S3Settings}. */
public final class S3Clients {
  private S3Clients() {}

  /**
   * The SDK's STANDARD retry mode retries what is transient (5xx, throttling, connection resets and
   * timeouts) with jittered back-off; we raise its attempts to 6 because staging runs long.
   */
  /**
   * The async client the transfer manager drives: the SDK's own multipart upload above {@code
   * partBytes}, in parts of that size, with the same endpoint, credentials and retries.
   */
  public static S3AsyncClient createAsync(S3Settings settings, long partBytes) {
    var builder =
        S3AsyncClient.builder()
            .region(Region.of(settings.region()))
            .forcePathStyle(settings.pathStyle())
            // flexible checksums (CRC32 trailers) only where S3 requires them: S3-compatible
            // servers (s3proxy, older MinIO) refuse the headers; the upload is checked by the
            // checkpoint's own SHA-256 on download
            .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
            .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
            .multipartEnabled(true)
            .multipartConfiguration(
                MultipartConfiguration.builder()
                    .thresholdInBytes(partBytes)
                    .minimumPartSizeInBytes(partBytes)
                    .build())
            .httpClientBuilder(
                NettyNioAsyncHttpClient.builder()
                    .maxConcurrency(16)
                    .connectionTimeout(Duration.ofSeconds(10))
                    .readTimeout(Duration.ofSeconds(60)))
            .overrideConfiguration(
                o -> o.retryStrategy(RetryMode.STANDARD).retryStrategy(b -> b.maxAttempts(6)));
    if (settings.endpoint() != null) {
      builder.endpointOverride(settings.endpoint());
    }
    builder.credentialsProvider(
        settings.accessKey() == null
            ? DefaultCredentialsProvider.builder().build()
            : StaticCredentialsProvider.create(
                AwsBasicCredentials.create(settings.accessKey(), settings.secretKey())));
    return builder.build();
  }

  public static S3Client create(S3Settings settings) {
    var builder =
        S3Client.builder()
            .region(Region.of(settings.region()))
            .httpClientBuilder(
                ApacheHttpClient.builder()
                    .maxConnections(64)
                    .connectionTimeout(Duration.ofSeconds(10))
                    .socketTimeout(Duration.ofSeconds(60)))
            .overrideConfiguration(
                o -> o.retryStrategy(RetryMode.STANDARD).retryStrategy(b -> b.maxAttempts(6)))
            .serviceConfiguration(
                S3Configuration.builder()
                    .pathStyleAccessEnabled(settings.pathStyle())
                    .checksumValidationEnabled(true)
                    .build());
    if (settings.endpoint() != null) {
      builder.endpointOverride(settings.endpoint());
    }
    builder.credentialsProvider(
        settings.accessKey() == null
            ? DefaultCredentialsProvider.builder().build()
            : StaticCredentialsProvider.create(
                AwsBasicCredentials.create(settings.accessKey(), settings.secretKey())));
    return builder.build();
  }
}
