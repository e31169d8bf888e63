package io.flipflow.infra.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flipflow.db.Database;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.LocalSecrets;
import io.flipflow.infra.config.Services;
import io.flipflow.infra.worker.FlipflowWorkers;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

class LocalStackTest {
  @TempDir Path project;

  @Test
  void stackComesUpOnLoopbackOnlyAndStopsCompletely() throws Exception {
    FlipflowConfig config =
        FlipflowConfig.load(project, LocalTestEnv.onFreePorts(project, "memory"));
    try (LocalStack stack = LocalStack.start(config, FlipflowWorkers.searchAttributes())) {
      assertEquals(3, stack.services().size());
      assertFalse(stack.temporal().isDevServer());
      List<ListeningSockets.Listener> listeners =
          new java.util.ArrayList<>(ListeningSockets.ofThisProcessTree());
      List<ListeningSockets.Listener> servicePorts =
          ListeningSockets.onPorts(
              java.util.Set.of(
                  config.postgresLocalPort(), config.s3LocalPort(), config.temporalLocalPort()));
      assertTrue(
          servicePorts.stream().map(ListeningSockets.Listener::port).distinct().count() == 3,
          "expected Temporal, Postgres and S3 listening: " + servicePorts);
      listeners.addAll(servicePorts);
      for (ListeningSockets.Listener l : listeners) {
        assertTrue(l.loopback(), "listening beyond loopback: " + l);
      }
      assertTrue(Ports.accepting("127.0.0.1", config.s3LocalPort()));
      assertTrue(Ports.accepting("127.0.0.1", config.temporalLocalPort()));
    }
    assertFalse(Ports.accepting("127.0.0.1", config.postgresLocalPort()));
    assertFalse(Ports.accepting("127.0.0.1", config.s3LocalPort()));
    assertFalse(Ports.accepting("127.0.0.1", config.temporalLocalPort()));
    assertEquals(0, ProcessHandle.current().children().filter(ProcessHandle::isAlive).count());
  }

  @Test
  void devServerComesUpOnLoopbackWithItsUiAndLeavesNoProcess() throws Exception {
    assumeTrue(
        LocalTemporal.findCli().isPresent(),
        "the temporal CLI is not installed (.ci/run installs it): dev-server path not testable;"
            + " the in-memory path is covered by stackComesUpOnLoopbackOnlyAndStopsCompletely");
    FlipflowConfig config = FlipflowConfig.load(project, LocalTestEnv.onFreePorts(project, "dev"));
    long childPid;
    try (LocalStack stack = LocalStack.start(config, FlipflowWorkers.searchAttributes())) {
      assertTrue(stack.temporal().isDevServer());
      childPid = ((LocalTemporal.DevServer) stack.temporal()).pid();
      assertTrue(Ports.accepting("127.0.0.1", config.temporalUiPort()), "the UI must listen");
      for (ListeningSockets.Listener l : ListeningSockets.ofThisProcessTree()) {
        assertTrue(l.loopback(), "listening beyond loopback: " + l);
      }
    }
    assertFalse(ProcessHandle.of(childPid).map(ProcessHandle::isAlive).orElse(false));
    assertFalse(Ports.accepting("127.0.0.1", config.temporalLocalPort()));
  }

  @Test
  void recordsAndObjectsSurviveARestart() throws Exception {
    Map<String, String> env = LocalTestEnv.onFreePorts(project, "memory");
    FlipflowConfig config = FlipflowConfig.load(project, env);
    String secrets;
    try (LocalStack stack = LocalStack.start(config, Map.of());
        Database db = Services.database(config)) {
      secrets = Files.readString(config.stateDir().resolve(LocalSecrets.FILE));
      try (Connection c = db.connection();
          Statement s = c.createStatement()) {
        s.execute(
            "INSERT INTO data_issues (dataset_uri, shard, sample_key, reason)"
                + " VALUES ('s3://b/p/', '00000.tar', 'k1', 'corrupt image')");
      }
      Files.writeString(
          config.stateDir().resolve("s3").resolve("flipflow").resolve("kept.txt"), "kept");
    }
    try (LocalStack stack = LocalStack.start(config, Map.of());
        Database db = Services.database(config)) {
      assertEquals(
          secrets,
          Files.readString(config.stateDir().resolve(LocalSecrets.FILE)),
          "a restart keeps the secrets of the state folder");
      try (Connection c = db.connection();
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT reason FROM data_issues WHERE sample_key = 'k1'")) {
        assertTrue(rs.next(), "the row written before the restart is gone");
        assertEquals("corrupt image", rs.getString(1));
      }
      // s3proxy's filesystem store serves what was there before the restart
      try (S3Client s3 =
          S3Client.builder()
              .endpointOverride(URI.create(config.s3Endpoint().orElseThrow()))
              .region(Region.of(config.s3Region()))
              .forcePathStyle(true)
              .credentialsProvider(
                  StaticCredentialsProvider.create(
                      AwsBasicCredentials.create(
                          config.s3AccessKey().orElseThrow(), config.s3SecretKey().orElseThrow())))
              .build()) {
        String body =
            s3.getObjectAsBytes(b -> b.bucket(config.s3Bucket()).key("kept.txt")).asUtf8String();
        assertEquals("kept", body);
      }
    }
  }

  @Test
  void anOccupiedPortIsNamedAndNothingIsLeftHalfStarted() throws Exception {
    Map<String, String> env = LocalTestEnv.onFreePorts(project, "memory");
    int s3Port = Integer.parseInt(env.get("FLIPFLOW_S3_LOCAL_PORT"));
    FlipflowConfig config = FlipflowConfig.load(project, env);
    try (ServerSocket squatter = new ServerSocket(s3Port, 1, InetAddress.getLoopbackAddress())) {
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> LocalStack.start(config, Map.of()));
      assertTrue(e.getMessage().contains(String.valueOf(s3Port)), e.getMessage());
      assertTrue(e.getMessage().contains("S3"), e.getMessage());
    }
    // Postgres had started before S3 failed: it must have been stopped again
    assertFalse(Ports.accepting("127.0.0.1", config.postgresLocalPort()));
  }

  @Test
  void badConfigValuesNameTheKey() {
    Map<String, String> env = LocalTestEnv.onFreePorts(project, "memory");
    env.put("FLIPFLOW_S3_LOCAL_PORT", "nine-thousand");
    FlipflowConfig config = FlipflowConfig.load(project, env);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, config::s3LocalPort);
    assertTrue(e.getMessage().contains("s3.local.port"), e.getMessage());
    assertTrue(e.getMessage().contains("FLIPFLOW_S3_LOCAL_PORT"), e.getMessage());

    env.put("FLIPFLOW_S3_LOCAL_PORT", String.valueOf(Ports.freePort()));
    env.put("FLIPFLOW_TEMPORAL_LOCAL_SERVER", "kubernetes");
    FlipflowConfig bad = FlipflowConfig.load(project, env);
    IllegalArgumentException e2 =
        assertThrows(IllegalArgumentException.class, () -> LocalStack.start(bad, Map.of()));
    assertTrue(e2.getMessage().contains("temporal.local.server"), e2.getMessage());
  }
}
