package io.flipflow.infra.local;

import io.flipflow.infra.config.LocalSecrets;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.gaul.s3proxy.BlobStores;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;

/**
 * Embedded s3proxy, filesystem-backed under the state folder, on 127.0.0.1 only, accepting only
 * requests signed with its keys (generated per state folder unless configured).
 */
public final class LocalS3 implements LocalService {
  private final S3Proxy proxy;
  private final int port;
  private final String bucket;

  private final Path envFile;

  private LocalS3(S3Proxy proxy, int port, String bucket, Path envFile) {
    this.proxy = proxy;
    this.port = port;
    this.bucket = bucket;
    this.envFile = envFile;
  }

  public static LocalS3 start(
      Path dir, int port, String accessKey, String secretKey, String bucket) {
    if (accessKey == null || accessKey.isEmpty() || secretKey == null || secretKey.isEmpty()) {
      throw new IllegalArgumentException("the local S3 needs an access key and a secret key");
    }
    Ports.requireFree(port, "S3 (s3proxy)");
    try {
      Files.createDirectories(dir.resolve(bucket));
      Properties p = new Properties();
      p.setProperty("jclouds.filesystem.basedir", dir.toString());
      S3Proxy proxy =
          S3Proxy.builder()
              .blobStore(BlobStores.create("filesystem", p))
              .endpoint(URI.create("http://127.0.0.1:" + port))
              .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secretKey)
              // as S3 does: the SDK's multipart client sends x-amz-mp-object-size on completion
              .ignoreUnknownHeaders(true)
              .build();
      proxy.start();
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (!"STARTED".equals(proxy.getState())) {
        if (System.nanoTime() > deadline) {
          proxy.stop();
          throw new IllegalStateException("s3proxy did not start within 30 s");
        }
        Thread.sleep(20);
      }
      // the aws CLI reads the keys from a private file (mode 0600 from its creation), so they are
      // never printed
      Path envFile = dir.toAbsolutePath().getParent().resolve("s3.env");
      LocalSecrets.writePrivate(
          envFile,
          "export AWS_ACCESS_KEY_ID="
              + accessKey
              + "\nexport AWS_SECRET_ACCESS_KEY="
              + secretKey
              + "\nexport AWS_DEFAULT_REGION=us-east-1\n");
      return new LocalS3(proxy, port, bucket, envFile);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("s3proxy did not start: " + e.getMessage(), e);
    }
  }

  public String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  @Override
  public String name() {
    return "S3 (s3proxy)";
  }

  @Override
  public List<String> howToReach() {
    return List.of(
        "endpoint " + endpoint() + ", bucket s3://" + bucket + "/",
        ". " + envFile + " && aws --endpoint-url " + endpoint() + " s3 ls s3://" + bucket + "/");
  }

  @Override
  public void close() {
    try {
      proxy.stop();
    } catch (Exception e) {
      throw new IllegalStateException("s3proxy did not stop cleanly: " + e.getMessage(), e);
    }
  }
}
