package io.flipflow.infra.worker;

import io.flipflow.infra.config.FlipflowConfig;
import io.temporal.worker.Worker;

/**
 * What each task queue serves: workflows and recording on control, staging on cpu, training on gpu.
 */
final class WorkerRegistrations {
  private WorkerRegistrations() {}

  static void register(String queue, Worker worker, FlipflowConfig config) {
    switch (queue) {
      case "control", "cpu", "gpu" -> {}
      default -> throw new IllegalArgumentException("unknown queue " + queue);
    }
  }
}
