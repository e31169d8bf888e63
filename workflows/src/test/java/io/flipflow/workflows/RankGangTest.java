package io.flipflow.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.pipeline.FlipPipelineWorkflow;
import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.failure.ApplicationFailure;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A spec with {@code ranks}: its training stages run as gangs of rank activities. */
class RankGangTest {
  private TestStack stack;

  @BeforeEach
  void start() {
    stack = new TestStack();
  }

  @AfterEach
  void stop() {
    stack.close();
  }

  private FlipPipelineWorkflow pipeline(String id) {
    return stack.client.newWorkflowStub(
        FlipPipelineWorkflow.class,
        WorkflowOptions.newBuilder().setWorkflowId(id).setTaskQueue(TaskQueues.CONTROL).build());
  }

  private static RunSpec twoRanks(String name) {
    return TestStack.tinyRun(name, 0.5).withRanks(2);
  }

  private List<String> rankCalls() {
    return stack.activities.calls.stream().filter(c -> c.startsWith("trainRank")).toList();
  }

  @Test
  void everyRankOfAGangStartsTogetherAndRankZerosCheckpointGoesOn() {
    RunSummary summary = pipeline("gang").run(twoRanks("gang"));

    assertEquals(RunStatus.FINISHED, summary.status(), summary.message());
    // each rank waits for the other before it trains: ranks started one by one would never meet
    assertEquals(
        List.of(
            "trainRank pretrain 0/2 gang 1",
            "trainRank pretrain 1/2 gang 1",
            "trainRank unmasked_tune 0/2 gang 1",
            "trainRank unmasked_tune 1/2 gang 1"),
        rankCalls().stream().sorted().toList());
    assertEquals("s3://flipflow/ckpt/gang/pretrain", summary.pretrain().checkpoint().uri());
    assertEquals(0, stack.activities.count("pretrain "), "no single-process training");
  }

  @Test
  void aRankThatFailsCancelsItsGangAndTheWholeGangStartsAgain() {
    stack.activities.rankFailure =
        r ->
            r.gang() == 1 && r.rank() == 1
                ? ApplicationFailure.newFailure("peer reset the connection", "Transient")
                : null;

    RunSummary summary = pipeline("regang").run(twoRanks("regang"));

    assertEquals(RunStatus.FINISHED, summary.status(), summary.message());
    List<String> calls = rankCalls();
    assertTrue(
        calls.contains("trainRank cancelled 0 gang 1"),
        "rank 0 of the failed gang must be cancelled: " + calls);
    assertTrue(calls.contains("trainRank pretrain 0/2 gang 2"), calls.toString());
    assertTrue(calls.contains("trainRank pretrain 1/2 gang 2"), calls.toString());
    assertEquals(
        0, calls.stream().filter(c -> c.contains("gang 3")).count(), "one restart: " + calls);
  }

  @Test
  void badInputOnOneRankFailsTheRunWithoutAnotherGang() {
    stack.activities.rankFailure =
        r ->
            r.rank() == 1
                ? ApplicationFailure.newNonRetryableFailure(
                    "staged data does not fit the preset", FailureTypes.BAD_INPUT)
                : null;

    WorkflowFailedException e =
        assertThrows(WorkflowFailedException.class, () -> pipeline("badgang").run(twoRanks("b")));

    assertTrue(
        io.flipflow.workflows.Failures.message(e).contains("staged data does not fit the preset"),
        io.flipflow.workflows.Failures.message(e));
    assertEquals(
        0,
        rankCalls().stream().filter(c -> c.contains("gang 2")).count(),
        "no second gang: " + rankCalls());
  }

  @Test
  void aCancelledRunStopsEveryRankWithRankZerosCheckpoint() throws Exception {
    stack.activities.ranksUntilCancelled = true;
    FlipPipelineWorkflow run = pipeline("gang-cancel");
    WorkflowClient.start(run::run, twoRanks("gang-cancel"));
    assertTrue(stack.activities.ranksStarted.await(30, TimeUnit.SECONDS));

    run.cancel("user asked");
    RunSummary summary = WorkflowStub.fromTyped(run).getResult(RunSummary.class);

    assertEquals(RunStatus.CANCELLED, summary.status());
    assertTrue(summary.pretrain().stoppedEarly());
    assertEquals("s3://flipflow/ckpt/gang-cancel/pretrain", summary.pretrain().checkpoint().uri());
    List<String> calls = rankCalls();
    assertTrue(calls.contains("trainRank stopped 0 gang 1"), calls.toString());
    assertTrue(calls.contains("trainRank stopped 1 gang 1"), calls.toString());
  }
}
