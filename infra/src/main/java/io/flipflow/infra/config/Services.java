package io.flipflow.infra.config;

import io.flipflow.activities.data.s3.S3Settings;
import io.flipflow.db.Database;
import java.net.URI;

/** Builds the clients of the configured services; secrets stay inside the worker process. */
public final class Services {
  private Services() {}

  public static S3Settings s3(FlipflowConfig config) {
    URI endpoint = config.s3Endpoint().map(Services::endpointUri).orElse(null);
    return new S3Settings(
        endpoint,
        config.s3Region(),
        config.s3AccessKey().orElse(null),
        config.s3SecretKey().orElse(null),
        config.getBoolean("s3.pathStyle", endpoint != null));
  }

  /** A pool with the configured size and timeouts; the caller closes it. */
  public static Database database(FlipflowConfig config) {
    return Database.connect(
        config.postgresUrl(),
        config.postgresUser(),
        config.postgresPassword(),
        config.postgresSettings());
  }

  private static URI endpointUri(String s) {
    try {
      URI u = URI.create(s);
      if (u.getScheme() == null || u.getHost() == null) {
        throw new IllegalArgumentException();
      }
      return u;
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "s3.endpoint must be a URL like http://host:9000, got '" + s + "'");
    }
  }
}
