package io.flipflow.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.result.StudySummary;
import io.temporal.api.workflowservice.v1.GetSystemInfoRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowStub;
import io.temporal.serviceclient.WorkflowServiceStubs;
import io.temporal.serviceclient.WorkflowServiceStubsOptions;
import io.temporal.worker.WorkerFactory;
import io.temporal.worker.WorkerOptions;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Drives the workflows the way users do, with the {@code temporal} CLI against the real dev server
 * (with fake activities): start from a config file, query progress, list by search attribute,
 * cancel by signal. Skipped, saying why, where {@code temporal} is not on PATH; the same workflow
 * behaviour runs on the in-memory server in the other tests.
 */
class DevServerCliTest {
  private static Process server;
  private static String address;
  private static WorkflowServiceStubs service;
  private static WorkerFactory factory;
  private static WorkflowClient client;
  private static final FakeActivities activities = new FakeActivities();

  @BeforeAll
  static void startDevServerAndWorker() throws Exception {
    String temporal = findOnPath("temporal");
    assumeTrue(temporal != null, "skipped: the temporal CLI is not on PATH (CI installs it)");
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    address = "127.0.0.1:" + port;
    List<String> command =
        new ArrayList<>(
            List.of(
                temporal,
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--port",
                String.valueOf(port),
                "--headless",
                "--log-level",
                "error"));
    command.addAll(SearchAttributeKeys.devServerArguments());
    server =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(Files.createTempFile("temporal-dev", ".log").toFile())
            .start();
    service =
        WorkflowServiceStubs.newServiceStubs(
            WorkflowServiceStubsOptions.newBuilder().setTarget(address).build());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        service.blockingStub().getSystemInfo(GetSystemInfoRequest.getDefaultInstance());
        break;
      } catch (RuntimeException notYet) {
        assertTrue(server.isAlive(), "dev server exited with " + server.exitValue());
        assertTrue(System.nanoTime() < deadline, "dev server not up in 60 s at " + address);
        Thread.sleep(200);
      }
    }
    client = WorkflowClient.newInstance(service);
    activities.client = client;
    factory = WorkerFactory.newInstance(client);
    WorkerOptions options =
        WorkerOptions.newBuilder()
            .setMaxHeartbeatThrottleInterval(Duration.ofMillis(200))
            .setDefaultHeartbeatThrottleInterval(Duration.ofMillis(200))
            .build();
    var control = factory.newWorker(TaskQueues.CONTROL, options);
    FlipflowWorkflows.register(control);
    control.registerActivitiesImplementations(activities);
    factory.newWorker(TaskQueues.CPU, options).registerActivitiesImplementations(activities);
    factory.newWorker(TaskQueues.GPU, options).registerActivitiesImplementations(activities);
    factory.start();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    if (factory != null) {
      factory.shutdownNow();
      factory.awaitTermination(10, TimeUnit.SECONDS);
    }
    if (service != null) {
      service.shutdownNow();
    }
    if (server != null) {
      server.destroy();
      if (!server.waitFor(10, TimeUnit.SECONDS)) {
        server.destroyForcibly();
      }
    }
  }

  @Test
  void pipelineStartedQueriedAndListedWithTheCli() throws Exception {
    Path config = ConfigFilesTest.configDir().resolve("runs/emoji-tiny-mask50.json");
    cli(
        "workflow",
        "start",
        "--type",
        "FlipPipelineWorkflow",
        "--task-queue",
        "flipflow-control",
        "--workflow-id",
        "cli-mask50",
        "--input-file",
        config.toString());
    RunSummary summary = client.newUntypedWorkflowStub("cli-mask50").getResult(RunSummary.class);
    assertEquals(RunStatus.FINISHED, summary.status());

    String progress = cli("workflow", "query", "--workflow-id", "cli-mask50", "--name", "progress");
    assertTrue(progress.contains("FINISHED"), progress);

    String listed = "";
    for (int i = 0; i < 50 && !listed.contains("cli-mask50"); i++) {
      Thread.sleep(100); // visibility is eventually consistent
      listed = cli("workflow", "list", "-q", "FlipMaskRatio = 0.5 AND FlipStage = 'FINISHED'");
    }
    assertTrue(listed.contains("cli-mask50"), listed);
  }

  @Test
  void studyStartedFromItsConfigFileAlone() throws Exception {
    Path config = ConfigFilesTest.configDir().resolve("studies/emoji-table1a-equal-samples.json");
    cli(
        "workflow",
        "start",
        "--type",
        "ScalingStudyWorkflow",
        "--task-queue",
        "flipflow-control",
        "--workflow-id",
        "cli-study",
        "--input-file",
        config.toString());
    StudySummary summary = client.newUntypedWorkflowStub("cli-study").getResult(StudySummary.class);
    assertEquals(3, summary.finished());
    assertEquals("emoji-table1a-equal-samples-mask75", summary.runs().get(2).workflowId());
  }

  @Test
  void cancelSignalFromTheCli() throws Exception {
    activities.pretrainUntilCancelled = true;
    try {
      Path config = ConfigFilesTest.configDir().resolve("runs/emoji-tiny-mask75.json");
      cli(
          "workflow",
          "start",
          "--type",
          "FlipPipelineWorkflow",
          "--task-queue",
          "flipflow-control",
          "--workflow-id",
          "cli-cancel",
          "--input-file",
          config.toString());
      assertTrue(activities.pretrainStarted.await(30, TimeUnit.SECONDS));
      cli(
          "workflow",
          "signal",
          "--workflow-id",
          "cli-cancel",
          "--name",
          "cancel",
          "--input",
          "\"stopped from the CLI\"");
      WorkflowStub run = client.newUntypedWorkflowStub("cli-cancel");
      RunSummary summary = run.getResult(30, TimeUnit.SECONDS, RunSummary.class);
      assertEquals(RunStatus.CANCELLED, summary.status());
      assertEquals("stopped from the CLI", summary.message());
      assertTrue(summary.pretrain().stoppedEarly());
    } finally {
      activities.pretrainUntilCancelled = false;
    }
  }

  private static String cli(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(findOnPath("temporal")));
    command.addAll(List.of(args));
    command.addAll(List.of("--address", address));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "temporal " + String.join(" ", args) + " hung");
    assertEquals(0, p.exitValue(), "temporal " + String.join(" ", args) + ":\n" + out);
    return out;
  }

  private static String findOnPath(String name) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path candidate = Path.of(dir, name);
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    return null;
  }
}
