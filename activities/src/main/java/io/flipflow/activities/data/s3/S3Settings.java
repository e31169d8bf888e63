package io.flipflow.activities.data.s3;

import java.net.URI;

/**
 * How to reach S3. {@code endpoint} is empty for AWS itself; set it for MinIO, s3proxy or another
 * compatible server. Without an access key the AWS default credentials chain is used (env, profile,
 * instance role). Never put these into a Temporal payload: only the worker holds them.
 */
public record S3Settings(
    URI endpoint, String region, String accessKey, String secretKey, boolean pathStyle) {

  public S3Settings {
    region = region == null || region.isBlank() ? "us-east-1" : region;
    if ((accessKey == null) != (secretKey == null)) {
      throw new IllegalArgumentException(
          "S3 settings: give both access key and secret, or neither");
    }
  }

  /** A local S3-compatible server (MinIO, s3proxy): path-style addressing, static keys. */
  public static S3Settings local(URI endpoint, String accessKey, String secretKey) {
    return new S3Settings(endpoint, "us-east-1", accessKey, secretKey, true);
  }

  /**
   * From environment variables: {@code FLIPFLOW_S3_ENDPOINT} (optional), {@code AWS_REGION}, {@code
   * AWS_ACCESS_KEY_ID}/{@code AWS_SECRET_ACCESS_KEY} (optional), {@code FLIPFLOW_S3_PATH_STYLE}
   * (default: true when an endpoint is set).
   */
  public static S3Settings fromEnvironment() {
    String endpoint = System.getenv("FLIPFLOW_S3_ENDPOINT");
    String pathStyle = System.getenv("FLIPFLOW_S3_PATH_STYLE");
    boolean hasEndpoint = endpoint != null && !endpoint.isBlank();
    return new S3Settings(
        hasEndpoint ? URI.create(endpoint) : null,
        System.getenv("AWS_REGION"),
        System.getenv("AWS_ACCESS_KEY_ID"),
        System.getenv("AWS_SECRET_ACCESS_KEY"),
        pathStyle == null ? hasEndpoint : Boolean.parseBoolean(pathStyle));
  }

  /** Never prints the secret. */
  @Override
  public String toString() {
    return "S3Settings[endpoint="
        + endpoint
        + ", region="
        + region
        + ", credentials="
        + (accessKey == null ? "default chain" : "static")
        + ", pathStyle="
        + pathStyle
        + "]";
  }
}
