package io.flipflow.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.pipeline.FlipPipelineWorkflow;
import io.flipflow.workflows.plan.ShardGroup;
import io.flipflow.workflows.plan.StagingRequest;
import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.StagingStatus;
import io.flipflow.workflows.staging.StagingWorkflow;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.WorkflowExecutionStatus;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The fan-out: groups retried alone, a group's permanent failure, reuse, the pipeline's child. */
class StagingWorkflowTest {
  private static final StagingRequest REQUEST =
      new StagingRequest("s3://flipflow/laion/{00000..00099}.tar", 64, 32);

  private TestStack stack;

  @BeforeEach
  void start() {
    stack = new TestStack();
    stack.activities.stagingShards = 100; // 7 groups of 16, the last of 4
    stack.activities.shardsPerGroup = 16;
    stack.activities.groupsInFlight = 3;
  }

  @AfterEach
  void stop() {
    stack.close();
  }

  private StagingWorkflow staging(String id) {
    return stack.client.newWorkflowStub(
        StagingWorkflow.class,
        WorkflowOptions.newBuilder().setWorkflowId(id).setTaskQueue(TaskQueues.CONTROL).build());
  }

  private Map<Integer, Long> attemptsByFirstShard() {
    return stack.activities.groupAttempts.stream()
        .collect(Collectors.groupingBy(ShardGroup::firstShard, Collectors.counting()));
  }

  @Test
  void aTransientGroupFailureRetriesThatGroupAlone() {
    boolean[] failedOnce = {false};
    stack.activities.groupFailure =
        g -> {
          if (g.firstShard() == 48 && !failedOnce[0]) {
            failedOnce[0] = true;
            return new IllegalStateException("s3://flipflow/laion/00050.tar: connection reset");
          }
          return null;
        };
    StagingWorkflow workflow = staging("stage-retry");
    StagedDataset staged = workflow.stage(REQUEST, null);

    assertEquals("s3://flipflow/staged/abc/manifest.json", staged.manifestUri());
    Map<Integer, Long> attempts = attemptsByFirstShard();
    assertEquals(List.of(0, 16, 32, 48, 64, 80, 96), attempts.keySet().stream().sorted().toList());
    assertEquals(2L, attempts.get(48), "the failed group ran again");
    assertEquals(8, stack.activities.groupAttempts.size(), "and no other group did");
    assertEquals(
        96 + 4,
        stack.activities.groupAttempts.stream().mapToInt(ShardGroup::endShard).max().orElse(0));
    assertEquals(1, stack.activities.publishes.get());
    StagingStatus status = workflow.status();
    assertEquals(new StagingStatus(7, 7, 250L * 100, 0, 0), status);
  }

  @Test
  void aGroupThatFailsForGoodFailsTheStagingNamingTheShardAndPublishesNothing() {
    stack.activities.groupFailure =
        g ->
            g.firstShard() == 32
                ? new IllegalArgumentException(
                    "s3://flipflow/laion/00035.tar: 3 lost shard(s) (limit 0)")
                : null;
    StagingWorkflow workflow = staging("stage-bad");
    WorkflowFailedException e =
        assertThrows(WorkflowFailedException.class, () -> workflow.stage(REQUEST, null));
    String message = Failures.message(e);
    assertTrue(message.contains("failed in shards 32-47"), message);
    assertTrue(message.contains("00035.tar: 3 lost shard(s)"), message);
    assertEquals(1L, attemptsByFirstShard().get(32), "bad input is not retried");
    assertEquals(0, stack.activities.publishes.get(), "nothing published");
    // the groups after it were never started: at most groupsInFlight were scheduled at once
    assertTrue(attemptsByFirstShard().keySet().stream().allMatch(first -> first <= 80));
  }

  @Test
  void aPublishedSetIsReturnedWithoutStagingAGroup() {
    stack.activities.alreadyStaged = true;
    StagedDataset staged = staging("stage-reuse").stage(REQUEST, null);
    assertEquals(1000, staged.sampleCount());
    assertEquals(List.of(), stack.activities.groupAttempts);
    assertEquals(0, stack.activities.publishes.get());
  }

  @Test
  void thePipelineStagesInAChildWhoseGroupsRecordTheRun() {
    stack.activities.stagingShards = 40;
    FlipPipelineWorkflow run =
        stack.client.newWorkflowStub(
            FlipPipelineWorkflow.class,
            WorkflowOptions.newBuilder()
                .setWorkflowId("fanned")
                .setTaskQueue(TaskQueues.CONTROL)
                .build());
    assertEquals(RunStatus.FINISHED, run.run(TestStack.tinyRun("fanned", 0.5)).status());

    assertEquals(
        List.of(0, 16, 32),
        stack.activities.groupAttempts.stream().map(ShardGroup::firstShard).sorted().toList());
    assertEquals(
        Map.of("fanned", 3L),
        stack.activities.groupAttempts.stream()
            .collect(Collectors.groupingBy(ShardGroup::runId, Collectors.counting())),
        "data issues are recorded under the run, not the child");
    assertEquals(
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED,
        stack
            .client
            .getWorkflowServiceStubs()
            .blockingStub()
            .describeWorkflowExecution(
                io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest.newBuilder()
                    .setNamespace(stack.client.getOptions().getNamespace())
                    .setExecution(
                        WorkflowExecution.newBuilder()
                            .setWorkflowId(StagingWorkflow.idFor("fanned")))
                    .build())
            .getWorkflowExecutionInfo()
            .getStatus());
    assertEquals(1, stack.activities.publishes.get());
  }
}
