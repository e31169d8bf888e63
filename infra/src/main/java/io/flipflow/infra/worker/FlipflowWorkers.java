package io.flipflow.infra.worker;

import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.TemporalConnection;
import io.flipflow.workflows.SearchAttributeKeys;
import io.temporal.common.SearchAttributeKey;
import io.temporal.worker.WorkerFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Worker processes for a chosen set of task queues, against the configured services. */
public final class FlipflowWorkers implements AutoCloseable {
  public static final List<String> ALL_QUEUES = List.of("control", "cpu", "gpu");

  private final TemporalConnection temporal;
  private final WorkerFactory factory;
  private final List<String> queues;

  private final WorkerRegistrations registrations;

  private FlipflowWorkers(
      TemporalConnection temporal,
      WorkerFactory factory,
      List<String> queues,
      WorkerRegistrations registrations) {
    this.temporal = temporal;
    this.factory = factory;
    this.queues = queues;
    this.registrations = registrations;
  }

  /** The search attributes the workflows set, name to CLI type; `up` registers them. */
  public static Map<String, String> searchAttributes() {
    Map<String, String> m = new LinkedHashMap<>();
    for (SearchAttributeKey<?> key : SearchAttributeKeys.ALL) {
      m.put(key.getName(), SearchAttributeKeys.cliTypeName(key));
    }
    return m;
  }

  public static FlipflowWorkers start(FlipflowConfig config, List<String> queueNames) {
    for (String q : queueNames) {
      if (!ALL_QUEUES.contains(q)) {
        throw new IllegalArgumentException(
            "--queues: unknown queue '" + q + "', expected some of " + ALL_QUEUES);
      }
    }
    TemporalConnection temporal = TemporalConnection.connect(config);
    WorkerFactory factory = WorkerFactory.newInstance(temporal.client());
    WorkerRegistrations registrations = new WorkerRegistrations(config);
    try {
      for (String q : queueNames) {
        registrations.register(q, factory);
      }
      factory.start();
      return new FlipflowWorkers(temporal, factory, List.copyOf(queueNames), registrations);
    } catch (RuntimeException e) {
      factory.shutdownNow();
      registrations.close();
      temporal.close();
      throw e;
    }
  }

  public List<String> queues() {
    return queues.stream().map(q -> "flipflow-" + q).toList();
  }

  /**
   * Graceful stop: training stops at its next step boundary with a checkpoint (its activity then
   * fails retryably and continues on another worker), other activities finish, then the connections
   * close.
   */
  @Override
  public void close() {
    registrations.beforeShutdown();
    factory.shutdown();
    factory.awaitTermination(5, java.util.concurrent.TimeUnit.MINUTES);
    registrations.close();
    temporal.close();
  }
}
