package io.flipflow.infra.worker;

import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.TemporalConnection;
import io.flipflow.workflows.SearchAttributeKeys;
import io.temporal.common.SearchAttributeKey;
import io.temporal.worker.Worker;
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

  private FlipflowWorkers(TemporalConnection temporal, WorkerFactory factory, List<String> queues) {
    this.temporal = temporal;
    this.factory = factory;
    this.queues = queues;
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
    try {
      for (String q : queueNames) {
        Worker w = factory.newWorker("flipflow-" + q);
        WorkerRegistrations.register(q, w, config);
      }
      factory.start();
      return new FlipflowWorkers(temporal, factory, List.copyOf(queueNames));
    } catch (RuntimeException e) {
      factory.shutdownNow();
      temporal.close();
      throw e;
    }
  }

  public List<String> queues() {
    return queues.stream().map(q -> "flipflow-" + q).toList();
  }

  @Override
  public void close() {
    factory.shutdown();
    factory.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS);
    temporal.close();
  }
}
