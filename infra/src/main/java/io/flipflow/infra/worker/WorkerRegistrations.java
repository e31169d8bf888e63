package io.flipflow.infra.worker;

import io.flipflow.activities.record.RecordActivitiesImpl;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.Services;
import io.flipflow.workflows.FlipflowWorkflows;
import io.temporal.worker.Worker;

/**
 * What each task queue serves: workflows and recording on control, staging on cpu, training and
 * evaluation on gpu. Only the gpu queue loads DJL's engine.
 */
final class WorkerRegistrations {
  private WorkerRegistrations() {}

  static void register(String queue, Worker worker, FlipflowConfig config) {
    switch (queue) {
      case "control" -> {
        FlipflowWorkflows.register(worker);
        worker.registerActivitiesImplementations(
            new RecordActivitiesImpl(Services.database(config)));
      }
      case "cpu", "gpu" -> {}
      default -> throw new IllegalArgumentException("unknown queue " + queue);
    }
  }
}
