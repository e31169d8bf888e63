package io.flipflow.workflows;

import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.RunSpecBuilder;
import io.temporal.client.WorkflowClient;
import io.temporal.common.SearchAttributeKey;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerOptions;
import java.time.Duration;
import java.util.List;

/**
 * A time-skipping test server with the project's search attributes and one worker per task queue,
 * as {@code flipflow worker --queues control,cpu,gpu} will run them.
 */
public final class TestStack implements AutoCloseable {
  public final TestWorkflowEnvironment env;
  public final FakeActivities activities = new FakeActivities();
  public final WorkflowClient client;

  public TestStack() {
    env = TestWorkflowEnvironment.newInstance();
    for (SearchAttributeKey<?> key : SearchAttributeKeys.ALL) {
      env.registerSearchAttribute(key.getName(), key.getValueType());
    }
    // Heartbeats are throttled to up to 60 s by default; cancellation arrives with a heartbeat.
    WorkerOptions options =
        WorkerOptions.newBuilder()
            .setMaxHeartbeatThrottleInterval(Duration.ofMillis(50))
            .setDefaultHeartbeatThrottleInterval(Duration.ofMillis(50))
            .build();
    Worker control = env.newWorker(TaskQueues.CONTROL, options);
    FlipflowWorkflows.register(control);
    control.registerActivitiesImplementations(activities);
    // One object implements every interface; each queue's worker serves all of them, which is
    // harmless here because every stub names its queue.
    env.newWorker(TaskQueues.CPU, options).registerActivitiesImplementations(activities);
    env.newWorker(TaskQueues.GPU, options).registerActivitiesImplementations(activities);
    client = env.getWorkflowClient();
    activities.client = client;
    env.start();
  }

  /** A valid tiny run, as in config/runs/. */
  public static RunSpec tinyRun(String name, double maskRatio) {
    return RunSpecBuilder.builder()
        .name(name)
        .modelPreset("tiny-emoji")
        .dataUri("s3://flipflow/emoji/train/{00000..00003}.tar")
        .evalSetUris(List.of("s3://flipflow/emoji/eval/subgroup/"))
        .imageSize(64)
        .maskRatio(maskRatio)
        .batchSize(64)
        .samples(6400L)
        .baseLr(1e-3)
        .build();
  }

  @Override
  public void close() {
    env.close();
  }
}
