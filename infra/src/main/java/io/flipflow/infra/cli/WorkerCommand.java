package io.flipflow.infra.cli;

import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.Services;
import io.flipflow.infra.worker.FlipflowWorkers;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = {
      "Run a worker for the chosen task queues against the configured services",
      "(the local stack of `flipflow up`, or a real cluster). Ctrl-C or SIGTERM stops it:",
      "training stops at a step boundary with a checkpoint, and its work continues elsewhere."
    })
public final class WorkerCommand implements Runnable {
  @Option(
      names = "--queues",
      split = ",",
      defaultValue = "control,cpu,gpu",
      description = "Task queues to serve, from control, cpu, gpu (default: ${DEFAULT-VALUE}).")
  List<String> queues;

  @Option(
      names = "--no-migrate",
      description =
          "Do not apply pending Flyway migrations at start (for a role without DDL rights).")
  boolean noMigrate;

  @Override
  public void run() {
    FlipflowConfig config = FlipflowCommand.config();
    if (!noMigrate) {
      // idempotent, and Flyway serialises concurrent workers with its own lock
      Services.database(config).migrate();
    }
    FlipflowWorkers workers = FlipflowWorkers.start(config, queues);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  workers.close();
                  stopped.countDown();
                },
                "flipflow-worker-shutdown"));
    System.out.println(
        "flipflow worker on "
            + workers.queues()
            + " at "
            + config.temporalAddress()
            + ". Ctrl-C stops it.");
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
