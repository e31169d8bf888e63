package io.flipflow.infra.config;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flipflow.infra.local.Ports;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.temporal.api.workflowservice.v1.GetSystemInfoRequest;
import io.temporal.internal.testservice.GRPCServerHelper;
import io.temporal.internal.testservice.TestServicesStarter;
import java.io.File;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Temporal client's TLS and mTLS settings against a real TLS endpoint made here: Temporal's
 * in-memory server behind a gRPC TLS listener with certificates openssl makes for the test.
 */
class TemporalTlsTest {
  @TempDir Path dir;

  @Test
  void tlsAndMutualTlsConnectOnlyWithTheRightSettings() throws Exception {
    assumeTrue(
        new File("/usr/bin/openssl").canExecute(),
        "openssl is not installed: cannot make certificates for a local TLS endpoint");
    Path ca = cert("ca", null);
    Path server = cert("server", ca);
    Path client = cert("client", ca);
    int port = Ports.freePort();
    ServerCredentials creds =
        TlsServerCredentials.newBuilder()
            .keyManager(
                server.resolveSibling("server.pem").toFile(),
                server.resolveSibling("server.key").toFile())
            .trustManager(ca.resolveSibling("ca.pem").toFile())
            .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
            .build();
    try (TestServicesStarter services = new TestServicesStarter(false, 0)) {
      NettyServerBuilder builder =
          NettyServerBuilder.forAddress(
              new InetSocketAddress(InetAddress.getLoopbackAddress(), port), creds);
      GRPCServerHelper.registerServicesAndHealthChecks(services.getServices(), builder);
      Server grpc = builder.build().start();
      try {
        Map<String, String> env = new HashMap<>();
        env.put("FLIPFLOW_TEMPORAL_ADDRESS", "localhost:" + port);
        env.put("FLIPFLOW_TEMPORAL_TLS_ENABLED", "true");
        env.put("FLIPFLOW_TEMPORAL_TLS_CA", dir.resolve("ca.pem").toString());

        // TLS without a client certificate: the server demands one, so the handshake fails
        FlipflowConfig noClientCert = FlipflowConfig.load(dir, env);
        IllegalStateException refused =
            assertThrows(
                IllegalStateException.class,
                () -> TemporalConnection.connect(noClientCert).close());
        assertTrue(refused.getMessage().contains("localhost:" + port), refused.getMessage());

        // mTLS with the client certificate the CA signed: connects and answers
        env.put("FLIPFLOW_TEMPORAL_TLS_CERT", dir.resolve("client.pem").toString());
        env.put("FLIPFLOW_TEMPORAL_TLS_KEY", dir.resolve("client.key").toString());
        try (TemporalConnection ok = TemporalConnection.connect(FlipflowConfig.load(dir, env))) {
          ok.service().blockingStub().getSystemInfo(GetSystemInfoRequest.getDefaultInstance());
        }

        // half an mTLS setting is named, not guessed
        env.remove("FLIPFLOW_TEMPORAL_TLS_KEY");
        IllegalArgumentException half =
            assertThrows(
                IllegalArgumentException.class,
                () -> TemporalConnection.connect(FlipflowConfig.load(dir, env)));
        assertTrue(half.getMessage().contains("temporal.tls.key"), half.getMessage());
      } finally {
        grpc.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /** NAME.key and NAME.pem in the temp folder, self-signed (CA) or signed by the CA. */
  private Path cert(String name, Path ca) throws Exception {
    Path key = dir.resolve(name + ".key");
    Path pem = dir.resolve(name + ".pem");
    run(
        "openssl",
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key.toString(),
        "-subj",
        "/CN=" + (name.equals("server") ? "localhost" : "flipflow-" + name),
        "-out",
        dir.resolve(name + ".csr").toString());
    Path ext = dir.resolve(name + ".ext");
    Files.writeString(
        ext,
        name.equals("ca")
            ? "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
            : "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n");
    if (ca == null) {
      run(
          "openssl",
          "x509",
          "-req",
          "-in",
          dir.resolve(name + ".csr").toString(),
          "-signkey",
          key.toString(),
          "-days",
          "2",
          "-extfile",
          ext.toString(),
          "-out",
          pem.toString());
    } else {
      run(
          "openssl",
          "x509",
          "-req",
          "-in",
          dir.resolve(name + ".csr").toString(),
          "-CA",
          dir.resolve("ca.pem").toString(),
          "-CAkey",
          dir.resolve("ca.key").toString(),
          "-CAcreateserial",
          "-days",
          "2",
          "-extfile",
          ext.toString(),
          "-out",
          pem.toString());
    }
    // grpc-netty wants PKCS#8 keys
    Path pk8 = dir.resolve(name + ".pk8");
    run("openssl", "pkcs8", "-topk8", "-nocrypt", "-in", key.toString(), "-out", pk8.toString());
    Files.move(pk8, key, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return pem;
  }

  private static void run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
    }
  }
}
