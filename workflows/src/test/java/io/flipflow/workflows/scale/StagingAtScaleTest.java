package io.flipflow.workflows.scale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.TaskQueues;
import io.flipflow.workflows.TestStack;
import io.flipflow.workflows.plan.ShardGroup;
import io.flipflow.workflows.plan.StagingRequest;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.staging.StagingWorkflow;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.history.v1.History;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * LAION-400M's staging on paper: 41,000 shards in groups of 16 on Temporal's time-skipping test
 * server with simulated activities, checking every execution's history against Temporal's limits
 * and that each shard is staged exactly once. Prints a {@code FIGURE} line for the README.
 */
class StagingAtScaleTest {
  private static final int SHARDS = 41_000;
  private static final int SHARDS_PER_GROUP = 16;

  /** Temporal warns above this many events in one history (limit.historyCount.warn). */
  private static final int EVENT_WARNING = 10_240;

  private TestStack stack;

  @BeforeEach
  void start() {
    stack = new TestStack();
    stack.activities.stagingShards = SHARDS;
    stack.activities.shardsPerGroup = SHARDS_PER_GROUP;
    stack.activities.groupsInFlight = 64;
  }

  @AfterEach
  void stop() {
    stack.close();
  }

  @Test
  void stagingOf41000ShardsStaysWithinTemporalLimits() {
    StagingWorkflow staging =
        stack.client.newWorkflowStub(
            StagingWorkflow.class,
            WorkflowOptions.newBuilder()
                .setWorkflowId("laion400m")
                .setTaskQueue(TaskQueues.CONTROL)
                .build());
    long startNanos = System.nanoTime();
    WorkflowExecution first =
        WorkflowClient.start(
            staging::stage, new StagingRequest("s3://laion/{00000..40999}.tar", 224, 77), null);
    StagedDataset staged = WorkflowStub.fromTyped(staging).getResult(StagedDataset.class);
    double wallSeconds = (System.nanoTime() - startNanos) / 1e9;
    assertEquals(224, staged.resolution());

    // every shard exactly once, in groups of 16, and one manifest
    int groups = (SHARDS + SHARDS_PER_GROUP - 1) / SHARDS_PER_GROUP;
    List<ShardGroup> attempts = new ArrayList<>(stack.activities.groupAttempts);
    assertEquals(groups, attempts.size(), "one attempt per group");
    boolean[] staged41k = new boolean[SHARDS];
    for (ShardGroup g : attempts) {
      for (int s = g.firstShard(); s < g.endShard(); s++) {
        assertTrue(!staged41k[s], "shard " + s + " staged twice");
        staged41k[s] = true;
      }
    }
    for (int s = 0; s < SHARDS; s++) {
      assertTrue(staged41k[s], "shard " + s + " never staged");
    }
    assertEquals(1, stack.activities.publishes.get());

    List<ExecutionFigures> executions = new ArrayList<>();
    String runId = first.getRunId();
    while (runId != null) {
      History history = stack.client.fetchHistory("laion400m", runId).getHistory();
      executions.add(ExecutionFigures.of(history));
      runId = ExecutionFigures.continuedAs(history);
    }
    int expected =
        (groups + StagingWorkflow.GROUPS_PER_EXECUTION - 1) / StagingWorkflow.GROUPS_PER_EXECUTION;
    assertEquals(expected, executions.size(), "one execution per GROUPS_PER_EXECUTION groups");
    ExecutionFigures worst = ExecutionFigures.max(executions);
    int totalEvents = executions.stream().mapToInt(ExecutionFigures::events).sum();
    System.out.printf(
        Locale.ROOT,
        "FIGURE staging shards=%d groups=%d executions=%d maxEvents=%d totalEvents=%d"
            + " maxHistoryBytes=%d maxPayloadBytes=%d wallSeconds=%.1f%n",
        SHARDS,
        groups,
        executions.size(),
        worst.events(),
        totalEvents,
        worst.historyBytes(),
        worst.maxPayloadBytes(),
        wallSeconds);
    assertTrue(worst.events() < EVENT_WARNING, "events " + worst);
    assertTrue(worst.maxPayloadBytes() < ExecutionFigures.PAYLOAD_WARNING_BYTES, "" + worst);
    assertTrue(worst.historyBytes() < ExecutionFigures.MAX_HISTORY_BYTES / 10, "" + worst);
  }
}
