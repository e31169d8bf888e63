package io.flipflow.infra.config;

import io.flipflow.workflows.PayloadSizeGuard;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.temporal.authorization.AuthorizationGrpcMetadataProvider;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowClientOptions;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import java.io.File;
import java.time.Duration;
import java.util.Optional;

/**
 * A Temporal client for the configured cluster: plain gRPC locally; TLS, mTLS or an API key for a
 * real cluster (temporal.tls.*, temporal.apiKey).
 */
public final class TemporalConnection implements AutoCloseable {
  private final WorkflowServiceStubs service;
  private final WorkflowClient client;
  private final String address;

  private TemporalConnection(WorkflowServiceStubs service, WorkflowClient client, String address) {
    this.service = service;
    this.client = client;
    this.address = address;
  }

  public static TemporalConnection connect(FlipflowConfig config) {
    String address = config.temporalAddress();
    WorkflowServiceStubsOptions.Builder options =
        WorkflowServiceStubsOptions.newBuilder().setTarget(address);
    Optional<String> apiKey = config.get("temporal.apiKey");
    boolean tls = config.getBoolean("temporal.tls.enabled", apiKey.isPresent());
    if (tls) {
      options.setSslContext(sslContext(config));
    }
    apiKey.ifPresent(
        key ->
            options.addGrpcMetadataProvider(
                new AuthorizationGrpcMetadataProvider(() -> "Bearer " + key)));
    WorkflowServiceStubs service;
    try {
      service =
          WorkflowServiceStubs.newConnectedServiceStubs(options.build(), Duration.ofSeconds(15));
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "cannot reach Temporal at "
              + address
              + " (temporal.address / FLIPFLOW_TEMPORAL_ADDRESS): "
              + rootMessage(e),
          e);
    }
    WorkflowClient client =
        WorkflowClient.newInstance(
            service,
            WorkflowClientOptions.newBuilder()
                .setNamespace(config.temporalNamespace())
                .setDataConverter(PayloadSizeGuard.dataConverter())
                .build());
    return new TemporalConnection(service, client, address);
  }

  private static SslContext sslContext(FlipflowConfig config) {
    try {
      SslContextBuilder b = GrpcSslContexts.forClient();
      Optional<String> ca = config.get("temporal.tls.ca");
      if (ca.isPresent()) {
        b.trustManager(existing("temporal.tls.ca", ca.get()));
      }
      Optional<String> cert = config.get("temporal.tls.cert");
      Optional<String> key = config.get("temporal.tls.key");
      if (cert.isPresent() != key.isPresent()) {
        throw new IllegalArgumentException(
            "temporal.tls.cert and temporal.tls.key must be set together for mTLS");
      }
      if (cert.isPresent()) {
        b.keyManager(
            existing("temporal.tls.cert", cert.get()), existing("temporal.tls.key", key.get()));
      }
      return b.build();
    } catch (javax.net.ssl.SSLException e) {
      throw new IllegalArgumentException(
          "temporal.tls.*: cannot build TLS context: " + e.getMessage(), e);
    }
  }

  private static File existing(String key, String path) {
    File f = new File(path);
    if (!f.isFile()) {
      throw new IllegalArgumentException(key + " names " + path + ", which is not a readable file");
    }
    return f;
  }

  private static String rootMessage(Throwable t) {
    Throwable r = t;
    while (r.getCause() != null && r.getCause() != r) {
      r = r.getCause();
    }
    return String.valueOf(r.getMessage());
  }

  public WorkflowClient client() {
    return client;
  }

  public WorkflowServiceStubs service() {
    return service;
  }

  public String address() {
    return address;
  }

  @Override
  public void close() {
    service.shutdown();
    service.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
  }
}
