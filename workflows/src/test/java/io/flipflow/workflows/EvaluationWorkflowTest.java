package io.flipflow.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.evaluation.EvaluationWorkflow;
import io.flipflow.workflows.plan.EvaluationRequest;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalReport;
import io.temporal.api.common.v1.Payload;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import io.temporal.common.converter.DefaultDataConverter;
import io.temporal.failure.ApplicationFailure;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code flipflow eval} as a workflow: checked input, results under the run, searchable. */
class EvaluationWorkflowTest {
  private TestStack stack;

  @BeforeEach
  void start() {
    stack = new TestStack();
  }

  @AfterEach
  void stop() {
    stack.close();
  }

  private EvaluationWorkflow newEvaluation(String workflowId) {
    return stack.client.newWorkflowStub(
        EvaluationWorkflow.class,
        WorkflowOptions.newBuilder()
            .setWorkflowId(workflowId)
            .setTaskQueue(TaskQueues.CONTROL)
            .build());
  }

  static EvaluationRequest request(String checkpoint, List<String> sets, String recordUnder) {
    return new EvaluationRequest(
        "adhoc:pretrain/step-40",
        new CheckpointRef(checkpoint, 40, 0),
        sets,
        "s3://flipflow/emoji/train/tokenizer.json",
        "tiny-emoji",
        "cpu",
        7,
        recordUnder,
        null);
  }

  @Test
  void evaluatesOnTheGpuQueueUnderTheNamedRunAndIsSearchable() {
    List<String> sets = List.of("s3://flipflow/emoji/eval/subgroup/", "s3://flipflow/pets/eval/");
    EvalReport report =
        newEvaluation("eval-happy-1")
            .run(request("s3://flipflow/checkpoints/happy/pretrain/step-40.tar", sets, "happy"));

    assertEquals(0.4, report.headlineTop1());
    assertEquals(List.of("evaluate eval-happy-1 adhoc:pretrain/step-40"), stack.activities.calls);
    EvaluationRequest seen = stack.activities.evaluationRequests.get(0);
    assertEquals("happy", seen.recordUnder(), "results join the run's record, not the eval's id");
    assertEquals(sets, seen.evalSetUris());

    Map<String, Payload> attributes =
        stack
            .client
            .getWorkflowServiceStubs()
            .blockingStub()
            .describeWorkflowExecution(
                DescribeWorkflowExecutionRequest.newBuilder()
                    .setNamespace(stack.client.getOptions().getNamespace())
                    .setExecution(WorkflowExecution.newBuilder().setWorkflowId("eval-happy-1"))
                    .build())
            .getWorkflowExecutionInfo()
            .getSearchAttributes()
            .getIndexedFieldsMap();
    var converter = DefaultDataConverter.STANDARD_INSTANCE;
    assertEquals(
        "happy", converter.fromPayload(attributes.get("FlipRun"), String.class, String.class));
    assertEquals(
        "tiny-emoji",
        converter.fromPayload(attributes.get("FlipModel"), String.class, String.class));
    assertEquals(
        sets, converter.fromPayload(attributes.get("FlipEvalSet"), List.class, List.class));
    assertEquals(
        0.4, converter.fromPayload(attributes.get("FlipTop1"), Double.class, Double.class));
    assertEquals(
        "FINISHED", converter.fromPayload(attributes.get("FlipStage"), String.class, String.class));
  }

  /** flipflow eval of a checkpoint that carries its preset and tokenizer sends neither. */
  @Test
  void aRequestWithoutPresetOrTokenizerIsTheCheckpointsToAnswer() {
    EvaluationRequest bare =
        new EvaluationRequest(
            "adhoc:imported",
            new CheckpointRef("s3://flipflow/imported/model.tar", 0, 0),
            List.of("s3://flipflow/emoji/eval/group/unseen/"),
            null,
            null,
            "cpu",
            0,
            "happy",
            null);
    EvalReport report = newEvaluation("eval-bare-1").run(bare);
    assertEquals(0.4, report.headlineTop1());
    assertEquals(null, stack.activities.evaluationRequests.get(0).modelPreset());
  }

  @Test
  void badRequestsFailAtOnceNamingEveryField() {
    WorkflowFailedException e =
        assertThrows(
            WorkflowFailedException.class,
            () ->
                newEvaluation("eval-bad")
                    .run(request("/tmp/step-40.tar", List.of("eval/"), "no spaces allowed")));
    ApplicationFailure cause = assertInstanceOf(ApplicationFailure.class, e.getCause());
    assertEquals(FailureTypes.BAD_INPUT, cause.getType());
    String message = cause.getOriginalMessage();
    assertTrue(message.contains("checkpoint: an s3:// URI"), message);
    assertTrue(message.contains("evalSetUris: 'eval/' is not an s3:// URI"), message);
    assertTrue(message.contains("recordUnder: "), message);
    assertTrue(stack.activities.calls.isEmpty(), "nothing evaluated: " + stack.activities.calls);
  }
}
