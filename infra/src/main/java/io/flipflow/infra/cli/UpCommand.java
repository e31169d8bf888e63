package io.flipflow.infra.cli;

import io.flipflow.db.Database;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.local.LocalService;
import io.flipflow.infra.local.LocalStack;
import io.flipflow.infra.worker.FlipflowWorkers;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    description = {
      "Start the local stack on 127.0.0.1 and keep it up until Ctrl-C:",
      "Temporal (the CLI's dev server if `temporal` is installed, else the in-memory Java server),",
      "embedded PostgreSQL with Flyway migrations, and an embedded S3 (s3proxy).",
      "Services configured as external (config/flipflow.properties) are used, not started.",
      "A worker for all task queues runs inside unless --no-worker is given."
    })
public final class UpCommand implements Runnable {
  @Option(names = "--no-worker", description = "Start the services only, no worker.")
  boolean noWorker;

  @Override
  public void run() {
    FlipflowConfig config = FlipflowCommand.config();
    long t0 = System.nanoTime();
    LocalStack stack = LocalStack.start(config, FlipflowWorkers.searchAttributes());
    FlipflowWorkers workers = null;
    CountDownLatch stopped = new CountDownLatch(1);
    try {
      if (!noWorker) {
        workers = FlipflowWorkers.start(config, FlipflowWorkers.ALL_QUEUES);
      }
      final FlipflowWorkers running = workers;
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    System.out.println("\nflipflow: stopping...");
                    if (running != null) {
                      running.close();
                    }
                    stack.close();
                    System.out.println("flipflow: stopped");
                    stopped.countDown();
                  },
                  "flipflow-shutdown"));
      printHowToReach(config, stack, workers, (System.nanoTime() - t0) / 1e9);
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      if (workers != null) {
        workers.close();
      }
      stack.close();
      throw e;
    }
  }

  static void printHowToReach(
      FlipflowConfig config, LocalStack stack, FlipflowWorkers workers, double seconds) {
    System.out.printf("flipflow is up (%.1f s). Press Ctrl-C to stop.%n%n", seconds);
    for (LocalService s : stack.services()) {
      System.out.println("  " + s.name());
      for (String line : s.howToReach()) {
        System.out.println("      " + line);
      }
    }
    if (!config.temporalIsLocal()) {
      System.out.println("  Temporal (external): " + config.temporalAddress());
    }
    if (!config.postgresIsLocal()) {
      System.out.println("  PostgreSQL (external): " + Database.safeUrl(config.postgresUrl()));
    }
    if (!config.s3IsLocal()) {
      System.out.println("  S3 (external): " + config.s3Endpoint().orElse("AWS"));
    }
    if (workers != null) {
      System.out.println("  Worker on task queues " + workers.queues());
      config
          .tensorboardDir()
          .ifPresent(
              dir ->
                  System.out.println(
                      "  Curves (TensorBoard): tensorboard --logdir "
                          + dir
                          + "  (also in S3 beside"
                          + " each run's checkpoints, under tensorboard/)"));
    }
    System.out.println();
  }
}
