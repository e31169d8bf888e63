package io.flipflow.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.pipeline.FlipPipelineWorkflow;
import io.flipflow.workflows.pipeline.FlipPipelineWorkflowImpl;
import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.result.StudySummary;
import io.flipflow.workflows.staging.StagingWorkflow;
import io.flipflow.workflows.staging.StagingWorkflowImpl;
import io.flipflow.workflows.study.ScalingStudyWorkflow;
import io.flipflow.workflows.study.ScalingStudyWorkflowImpl;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.common.WorkflowExecutionHistory;
import io.temporal.testing.WorkflowReplayer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Determinism guard. The committed histories in {@code src/test/resources/histories/} were recorded
 * from real executions of the workflows; replaying them with today's code fails when a change would
 * break workflows already running (then guard the change with {@code Workflow.getVersion}).
 * Re-record only for a deliberate, versioned change: move the current files into a folder named
 * after the change (they must go on replaying), then {@code mvn -pl workflows test
 * -Dtest=ReplayTest -Dflipflow.recordHistories=true}, and commit both.
 */
class ReplayTest {
  static final Path HISTORIES = Path.of("src/test/resources/histories");

  /**
   * The recorded histories of today's workflow versions, and those of earlier versions still
   * replayed: one folder per version change, holding what was recorded before it.
   */
  static final List<String> COMMITTED =
      List.of(
          "flip-pipeline-finished.json",
          "flip-pipeline-cancelled.json",
          "scaling-study.json",
          "staging.json",
          "before-staging-workflow/flip-pipeline-finished.json",
          "before-staging-workflow/flip-pipeline-cancelled.json",
          "before-staging-workflow/scaling-study.json",
          "before-run-identity/flip-pipeline-finished.json",
          "before-run-identity/flip-pipeline-cancelled.json",
          "before-run-identity/scaling-study.json",
          "before-stage-requests/flip-pipeline-finished.json",
          "before-stage-requests/flip-pipeline-cancelled.json",
          "before-stage-requests/scaling-study.json");

  @Test
  void committedHistoriesReplayWithTodaysCode() throws Exception {
    for (String name : COMMITTED) {
      Path file = HISTORIES.resolve(name);
      assertTrue(Files.isRegularFile(file), "missing recorded history " + file.toAbsolutePath());
      replay(name, Files.readString(file));
    }
  }

  /**
   * The workflow id each recorded history ran under: the pipeline derives its staging child's id
   * from its own, so a replay must run under the recorded one.
   */
  private static final Map<String, String> WORKFLOW_IDS =
      Map.of(
          "flip-pipeline-finished.json", "replay-finished",
          "flip-pipeline-cancelled.json", "replay-cancelled",
          "scaling-study.json", "replay-study",
          "staging.json", StagingWorkflow.idFor("replay-finished"));

  private static void replay(String name, String json) throws Exception {
    String id = WORKFLOW_IDS.get(Path.of(name).getFileName().toString());
    WorkflowReplayer.replayWorkflowExecution(
        WorkflowExecutionHistory.fromJson(json, id),
        FlipPipelineWorkflowImpl.class,
        ScalingStudyWorkflowImpl.class,
        StagingWorkflowImpl.class);
  }

  /** Records fresh histories of both workflows and replays them: catches nondeterminism today. */
  @Test
  void freshHistoriesReplay() throws Exception {
    Map<String, String> histories = record();
    for (Map.Entry<String, String> h : histories.entrySet()) {
      replay(h.getKey(), h.getValue());
    }
    if (Boolean.getBoolean("flipflow.recordHistories")) {
      Files.createDirectories(HISTORIES);
      for (Map.Entry<String, String> h : histories.entrySet()) {
        Files.writeString(HISTORIES.resolve(h.getKey()), h.getValue() + "\n");
        System.out.println("recorded " + HISTORIES.resolve(h.getKey()).toAbsolutePath());
      }
    }
  }

  private static Map<String, String> record() throws InterruptedException, IOException {
    Map<String, String> histories = new LinkedHashMap<>();
    try (TestStack stack = new TestStack()) {
      WorkflowClient client = stack.client;

      RunSummary finished =
          pipeline(client, "replay-finished").run(TestStack.tinyRun("replay-finished", 0.5));
      assertEquals(RunStatus.FINISHED, finished.status());
      histories.put("flip-pipeline-finished.json", json(client, "replay-finished", null));
      histories.put("staging.json", json(client, StagingWorkflow.idFor("replay-finished"), null));

      stack.activities.pretrainUntilCancelled = true;
      FlipPipelineWorkflow cancelled = pipeline(client, "replay-cancelled");
      WorkflowClient.start(cancelled::run, TestStack.tinyRun("replay-cancelled", 0.75));
      assertTrue(stack.activities.pretrainStarted.await(30, TimeUnit.SECONDS));
      while (cancelled.progress().step() == 0) {
        Thread.sleep(20); // the progress signal is in the history before the cancel
      }
      cancelled.cancel("replay test");
      RunSummary summary = WorkflowStub.fromTyped(cancelled).getResult(RunSummary.class);
      assertEquals(RunStatus.CANCELLED, summary.status());
      histories.put("flip-pipeline-cancelled.json", json(client, "replay-cancelled", null));
      stack.activities.pretrainUntilCancelled = false;

      // A failing child, parallelism 2 and continue-as-new after 2 runs: the first execution.
      stack.activities.badData = id -> id.endsWith("-mask50");
      ScalingStudyWorkflow study =
          client.newWorkflowStub(
              ScalingStudyWorkflow.class,
              WorkflowOptions.newBuilder()
                  .setWorkflowId("replay-study")
                  .setTaskQueue(TaskQueues.CONTROL)
                  .build());
      WorkflowExecution first =
          WorkflowClient.start(
              study::run,
              ScalingStudyWorkflowTest.maskStudy("replay-study", List.of(0.0, 0.5, 0.75), 2, 2),
              null);
      StudySummary studySummary = WorkflowStub.fromTyped(study).getResult(StudySummary.class);
      assertEquals(1, studySummary.failed());
      histories.put("scaling-study.json", json(client, "replay-study", first.getRunId()));
    }
    return histories;
  }

  private static FlipPipelineWorkflow pipeline(WorkflowClient client, String id) {
    return client.newWorkflowStub(
        FlipPipelineWorkflow.class,
        WorkflowOptions.newBuilder().setWorkflowId(id).setTaskQueue(TaskQueues.CONTROL).build());
  }

  private static String json(WorkflowClient client, String workflowId, String runId) {
    WorkflowExecutionHistory history =
        runId == null ? client.fetchHistory(workflowId) : client.fetchHistory(workflowId, runId);
    return history.toJson(true);
  }
}
