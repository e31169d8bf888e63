package io.flipflow.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.StudyRunResult;
import io.flipflow.workflows.result.StudySummary;
import io.flipflow.workflows.spec.StudyAxes;
import io.flipflow.workflows.spec.StudyBudget;
import io.flipflow.workflows.spec.StudySpec;
import io.flipflow.workflows.study.ScalingStudyWorkflow;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.enums.v1.EventType;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.CanceledFailure;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ScalingStudyWorkflowTest {
  private TestStack stack;

  @BeforeEach
  void start() {
    stack = new TestStack();
  }

  @AfterEach
  void stop() {
    stack.close();
  }

  static StudySpec maskStudy(
      String id, List<Double> masks, int parallelism, int maxRunsPerExecution) {
    return new StudySpec(
        id,
        "mask ratio sweep",
        TestStack.tinyRun("base", 0.0),
        new StudyAxes(null, null, null, masks, null, null, null, null, null),
        parallelism,
        StudyBudget.EQUAL_SAMPLES,
        null,
        maxRunsPerExecution,
        null);
  }

  private ScalingStudyWorkflow newStudy(String id) {
    return stack.client.newWorkflowStub(
        ScalingStudyWorkflow.class,
        WorkflowOptions.newBuilder().setWorkflowId(id).setTaskQueue(TaskQueues.CONTROL).build());
  }

  @Test
  void failedChildIsRecordedAndTheStudyGoesOn() {
    stack.activities.badData = id -> id.endsWith("-mask50");
    StudySummary summary =
        newStudy("t1a").run(maskStudy("t1a", List.of(0.0, 0.5, 0.75), 3, 100), null);

    assertEquals(
        List.of("t1a-mask0", "t1a-mask50", "t1a-mask75"),
        summary.runs().stream().map(StudyRunResult::workflowId).toList(),
        "stable child ids in grid order");
    assertEquals(2, summary.finished());
    assertEquals(1, summary.failed());
    StudyRunResult failed = summary.runs().get(1);
    assertEquals(RunStatus.FAILED, failed.status());
    assertNull(failed.zeroShotTop1());
    assertTrue(failed.message().contains("no shard matches"), failed.message());
    assertEquals(0.5, summary.runs().get(2).zeroShotTop1());
    assertEquals(3, stack.activities.studyRuns.size(), "every run recorded with the study");
    assertEquals(List.of(RunStatus.RUNNING, RunStatus.FINISHED), stack.activities.studyStatuses);
    assertTrue(
        stack.activities.finishedRuns.stream().allMatch(r -> "t1a".equals(r.studyId())),
        "children carry the study id");
  }

  @Test
  void neverRunsMoreChildrenThanParallelism() {
    stack.activities.stagingMillis = 150;
    StudySummary summary =
        newStudy("par").run(maskStudy("par", List.of(0.0, 0.25, 0.5, 0.6, 0.75), 2, 100), null);

    assertEquals(5, summary.finished());
    System.out.println(
        "study parallelism 2: at most " + stack.activities.maxActiveRuns.get() + " runs at once");
    assertEquals(2, stack.activities.maxActiveRuns.get());
  }

  @Test
  void continuesAsNewAfterMaxRunsPerExecutionAndKeepsEveryResult() {
    ScalingStudyWorkflow study = newStudy("can");
    WorkflowExecution first =
        WorkflowClient.start(
            study::run, maskStudy("can", List.of(0.0, 0.25, 0.5, 0.6, 0.75), 2, 2), null);
    StudySummary summary = WorkflowStub.fromTyped(study).getResult(StudySummary.class);

    assertEquals(
        List.of("can-mask0", "can-mask25", "can-mask50", "can-mask60", "can-mask75"),
        summary.runs().stream().map(StudyRunResult::workflowId).toList());
    assertEquals(5, summary.finished());
    assertEquals(5, stack.activities.count("pretrain"), "no cell run twice");
    var events = stack.client.fetchHistory("can", first.getRunId()).getEvents();
    assertEquals(
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        events.get(events.size() - 1).getEventType());
    assertEquals(List.of(RunStatus.RUNNING, RunStatus.FINISHED), stack.activities.studyStatuses);
  }

  @Test
  void cancellingTheStudyCancelsItsRunningChildAndRecordsBoth() throws Exception {
    stack.activities.pretrainUntilCancelled = true;
    ScalingStudyWorkflow study = newStudy("cs");
    WorkflowClient.start(study::run, maskStudy("cs", List.of(0.0, 0.5), 1, 100), null);
    assertTrue(stack.activities.pretrainStarted.await(30, TimeUnit.SECONDS));

    WorkflowStub.fromTyped(study).cancel();
    WorkflowFailedException e =
        assertThrows(
            WorkflowFailedException.class,
            () -> WorkflowStub.fromTyped(study).getResult(StudySummary.class));

    assertInstanceOf(CanceledFailure.class, e.getCause());
    assertEquals(1, stack.activities.count("pretrain stopped at step"), "child stopped training");
    assertEquals(1, stack.activities.count("stageData"), "second cell never started");
    assertEquals(1, stack.activities.studyRuns.size());
    assertEquals(RunStatus.CANCELLED, stack.activities.studyRuns.get(0).status());
    assertEquals(RunStatus.CANCELLED, stack.activities.finishedRuns.get(0).status());
    assertEquals(List.of(RunStatus.RUNNING, RunStatus.CANCELLED), stack.activities.studyStatuses);
  }

  @Test
  void badStudySpecFailsNamingTheField() {
    StudySpec bad =
        new StudySpec(
            "bad study!",
            null,
            TestStack.tinyRun("base", 0.0),
            new StudyAxes(null, null, null, List.of(0.0, 1.5), null, null, null, null, null),
            0,
            StudyBudget.EQUAL_WALL_CLOCK,
            null,
            null,
            null);
    WorkflowFailedException e =
        assertThrows(WorkflowFailedException.class, () -> newStudy("bad").run(bad, null));
    ApplicationFailure failure = assertInstanceOf(ApplicationFailure.class, e.getCause());
    assertEquals(FailureTypes.BAD_INPUT, failure.getType());
    String message = failure.getOriginalMessage();
    assertTrue(message.contains("studyId:"), message);
    assertTrue(message.contains("parallelism: must be at least 1"), message);
    assertTrue(message.contains("wallClockSecondsPerRun:"), message);
    assertTrue(stack.activities.calls.isEmpty());
  }
}
