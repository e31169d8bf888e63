package io.flipflow.infra.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.TemporalConnection;
import io.flipflow.infra.local.LocalStack;
import io.flipflow.infra.local.LocalTemporal;
import io.flipflow.infra.local.LocalTestEnv;
import io.flipflow.workflows.TaskQueues;
import io.flipflow.workflows.pipeline.FlipPipelineWorkflow;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.SpecFiles;
import io.temporal.api.enums.v1.TaskQueueType;
import io.temporal.api.taskqueue.v1.TaskQueue;
import io.temporal.api.workflowservice.v1.DescribeTaskQueueRequest;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A worker for all three queues registers and serves, on both local Temporal servers. */
class WorkerRegistrationTest {
  @TempDir Path project;

  @Test
  void workerServesAllQueuesOnTheInMemoryServer() throws Exception {
    checkWorker("memory");
  }

  @Test
  void workerServesAllQueuesOnTheDevServer() throws Exception {
    assumeTrue(
        LocalTemporal.findCli().isPresent(),
        "the temporal CLI is not installed (.ci/run installs it): dev-server path skipped; the"
            + " in-memory server path runs in workerServesAllQueuesOnTheInMemoryServer");
    checkWorker("dev");
  }

  private void checkWorker(String mode) throws Exception {
    FlipflowConfig config = FlipflowConfig.load(project, LocalTestEnv.onFreePorts(project, mode));
    try (LocalStack stack = LocalStack.start(config, FlipflowWorkers.searchAttributes());
        FlipflowWorkers workers = FlipflowWorkers.start(config, FlipflowWorkers.ALL_QUEUES);
        TemporalConnection temporal = TemporalConnection.connect(config)) {
      assertEquals(
          java.util.List.of(TaskQueues.CONTROL, TaskQueues.CPU, TaskQueues.GPU), workers.queues());
      if (mode.equals("dev")) {
        for (String q : TaskQueues.ALL) {
          long deadline = System.nanoTime() + 20_000_000_000L;
          int pollers = 0;
          while (pollers == 0 && System.nanoTime() < deadline) {
            pollers =
                temporal
                    .service()
                    .blockingStub()
                    .describeTaskQueue(
                        DescribeTaskQueueRequest.newBuilder()
                            .setNamespace(config.temporalNamespace())
                            .setTaskQueue(TaskQueue.newBuilder().setName(q).build())
                            .setTaskQueueType(
                                q.equals(TaskQueues.CONTROL)
                                    ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
                                    : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
                            .build())
                    .getPollersCount();
            Thread.sleep(200);
          }
          assertTrue(pollers > 0, "no worker polls " + q);
        }
      }
      // the control worker really runs workflows: a spec with a bad mask ratio fails at once,
      // naming the field, instead of being retried
      RunSpec good =
          SpecFiles.readRun(
              Path.of(System.getProperty("user.dir"))
                  .getParent()
                  .resolve("config/runs/emoji-tiny-mask50.json"));
      RunSpec bad = good.with().maskRatio(1.0).build();
      FlipPipelineWorkflow stub =
          temporal
              .client()
              .newWorkflowStub(
                  FlipPipelineWorkflow.class,
                  WorkflowOptions.newBuilder()
                      .setTaskQueue(TaskQueues.CONTROL)
                      .setWorkflowId("bad-spec-" + mode)
                      .build());
      WorkflowFailedException e = assertThrows(WorkflowFailedException.class, () -> stub.run(bad));
      String message = io.flipflow.workflows.Failures.message(e);
      assertTrue(message.contains("maskRatio"), message);
    }
  }
}
