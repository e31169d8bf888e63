package io.flipflow.activities.testing;

import io.flipflow.activities.data.s3.S3Settings;
import io.flipflow.activities.data.s3.S3Store;
import java.net.URI;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;

/**
 * An S3 server for tests: embedded s3proxy (in-memory store) on 127.0.0.1 and a random port. This
 * machine has no Docker engine, so MinIO via Testcontainers is not tried; the s3proxy path speaks
 * the same S3 protocol through the real AWS SDK client.
 */
public final class S3Fixture implements AutoCloseable {
  public static final String ACCESS_KEY = "flipflow-test";
  public static final String SECRET_KEY = "flipflow-test-secret";

  private final S3Proxy proxy;
  private final S3Settings settings;

  private S3Fixture(S3Proxy proxy, S3Settings settings) {
    this.proxy = proxy;
    this.settings = settings;
  }

  public static S3Fixture start() {
    try {
      S3Proxy proxy =
          S3Proxy.builder()
              .blobStore(new TransientNio2BlobStore())
              .endpoint(URI.create("http://127.0.0.1:0"))
              .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
              // as S3 does: the SDK's multipart client sends x-amz-mp-object-size on completion
              .ignoreUnknownHeaders(true)
              .build();
      proxy.start();
      for (int i = 0; i < 100 && !"STARTED".equals(proxy.getState()); i++) {
        Thread.sleep(20);
      }
      System.out.println(
          "S3Fixture: embedded s3proxy on 127.0.0.1:"
              + proxy.getPort()
              + " (no Docker engine here, so not MinIO)");
      return new S3Fixture(
          proxy,
          S3Settings.local(
              URI.create("http://127.0.0.1:" + proxy.getPort()), ACCESS_KEY, SECRET_KEY));
    } catch (Exception e) {
      throw new IllegalStateException("embedded s3proxy did not start", e);
    }
  }

  public S3Settings settings() {
    return settings;
  }

  public S3Store store() {
    return S3Store.create(settings);
  }

  @Override
  public void close() throws Exception {
    proxy.stop();
  }
}
