package io.flipflow.infra.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.result.Progress;
import io.flipflow.workflows.result.Stage;
import io.flipflow.workflows.result.TrainingHeartbeat;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityOptions;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import io.temporal.workflow.Workflow;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The CLI's progress is the training heartbeat itself, read with a describe, not a signal. */
class LiveProgressTest {
  @ActivityInterface
  public interface Trains {
    void train();
  }

  @WorkflowInterface
  public interface Runs {
    @WorkflowMethod
    void run();
  }

  public static class RunsImpl implements Runs {
    private final Trains trains =
        Workflow.newActivityStub(
            Trains.class,
            ActivityOptions.newBuilder()
                .setStartToCloseTimeout(Duration.ofMinutes(1))
                .setHeartbeatTimeout(Duration.ofSeconds(30))
                .build());

    @Override
    public void run() {
      trains.train();
    }
  }

  static final CountDownLatch beat = new CountDownLatch(1);
  static final CountDownLatch release = new CountDownLatch(1);

  static class TrainsImpl implements Trains {
    @Override
    public void train() {
      Activity.getExecutionContext()
          .heartbeat(
              new TrainingHeartbeat(new Progress(Stage.PRETRAIN, 7, 896, 2.5, 120.0, 60L), null));
      beat.countDown();
      try {
        release.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Test
  void theProgressShownIsThePendingActivitysHeartbeat() throws Exception {
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      Worker worker = env.newWorker("live");
      worker.registerWorkflowImplementationTypes(RunsImpl.class);
      worker.registerActivitiesImplementations(new TrainsImpl());
      env.start();
      WorkflowClient client = env.getWorkflowClient();
      Runs run =
          client.newWorkflowStub(
              Runs.class,
              WorkflowOptions.newBuilder().setWorkflowId("live-1").setTaskQueue("live").build());
      WorkflowClient.start(run::run);
      assertTrue(beat.await(30, TimeUnit.SECONDS));
      Optional<Progress> p = Optional.empty();
      for (int i = 0; i < 100 && p.isEmpty(); i++) {
        p = LiveProgress.heartbeat(client, "live-1");
        Thread.sleep(50);
      }
      assertEquals(7, p.orElseThrow().step());
      assertEquals(120.0, p.get().samplesPerSecond());
      release.countDown();
    }
  }
}
