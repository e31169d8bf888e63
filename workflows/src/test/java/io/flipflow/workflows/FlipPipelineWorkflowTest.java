package io.flipflow.workflows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.pipeline.FlipPipelineWorkflow;
import io.flipflow.workflows.result.Progress;
import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.result.Stage;
import io.flipflow.workflows.result.StageRecord;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.UnmaskedTuning;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.common.converter.DefaultDataConverter;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.CanceledFailure;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FlipPipelineWorkflowTest {
  private TestStack stack;

  @BeforeEach
  void start() {
    stack = new TestStack();
  }

  @AfterEach
  void stop() {
    stack.close();
  }

  private FlipPipelineWorkflow newPipeline(String workflowId) {
    return stack.client.newWorkflowStub(
        FlipPipelineWorkflow.class,
        WorkflowOptions.newBuilder()
            .setWorkflowId(workflowId)
            .setTaskQueue(TaskQueues.CONTROL)
            .build());
  }

  @Test
  void runsEveryStageInOrderAndRecordsThem() {
    RunSummary summary = newPipeline("happy").run(TestStack.tinyRun("happy", 0.5));

    assertEquals(RunStatus.FINISHED, summary.status());
    assertEquals(
        List.of(
            "claimRun happy",
            "recordRunStarted happy",
            "stageData happy",
            "recordDataSamples happy 1000",
            "pretrain happy mask=0.5",
            "evaluate happy pretrained",
            "unmaskedTune happy from=s3://flipflow/ckpt/happy/pretrain",
            "evaluate happy tuned"),
        stack.activities.calls);
    assertEquals(0.5, summary.zeroShotTop1(), "headline = unseen acc1 after tuning");
    assertEquals(640, summary.pretrain().samplesSeen());
    List<String> stageRows =
        stack.activities.stages.stream().map(s -> s.stage() + ":" + s.status()).toList();
    assertEquals(
        List.of(
            "STAGE_DATA:RUNNING", "STAGE_DATA:FINISHED",
            "PRETRAIN:RUNNING", "PRETRAIN:FINISHED",
            "EVAL_PRETRAINED:RUNNING", "EVAL_PRETRAINED:FINISHED",
            "UNMASKED_TUNE:RUNNING", "UNMASKED_TUNE:FINISHED",
            "EVAL_TUNED:RUNNING", "EVAL_TUNED:FINISHED"),
        stageRows);
    StageRecord pretrainDone = stack.activities.stages.get(3);
    assertEquals(640L, pretrainDone.samplesSeen());
    assertEquals(RunStatus.FINISHED, stack.activities.finishedRuns.get(0).status());
    assertEquals(
        Stage.FINISHED,
        stack.client.newWorkflowStub(FlipPipelineWorkflow.class, "happy").progress().stage());

    var attributes = describe("happy").getWorkflowExecutionInfo().getSearchAttributes();
    var converter = DefaultDataConverter.STANDARD_INSTANCE;
    assertEquals(
        "tiny-emoji",
        converter.fromPayload(
            attributes.getIndexedFieldsOrThrow("FlipModel"), String.class, String.class));
    assertEquals(
        0.5,
        converter.fromPayload(
            attributes.getIndexedFieldsOrThrow("FlipMaskRatio"), Double.class, Double.class));
    assertEquals(
        "FINISHED",
        converter.fromPayload(
            attributes.getIndexedFieldsOrThrow("FlipStage"), String.class, String.class));
    assertEquals(
        0.5,
        converter.fromPayload(
            attributes.getIndexedFieldsOrThrow("FlipTop1"), Double.class, Double.class));
  }

  @Test
  void skipsTuningAndItsEvaluationWhenDisabled() {
    RunSpec spec =
        TestStack.tinyRun("notune", 0.75).with().unmaskedTuning(UnmaskedTuning.disabled()).build();
    RunSummary summary = newPipeline("notune").run(spec);

    assertEquals(RunStatus.FINISHED, summary.status());
    assertEquals(0, stack.activities.count("unmaskedTune"));
    assertEquals(1, stack.activities.count("evaluate"));
    assertNull(summary.tuning());
    assertEquals(0.4, summary.zeroShotTop1(), "headline from the pretrained evaluation");
  }

  @Test
  void cancelSignalStopsTrainingWithCheckpointAndRecordsCancelled() throws Exception {
    stack.activities.pretrainUntilCancelled = true;
    FlipPipelineWorkflow pipeline = newPipeline("cancelme");
    WorkflowClient.start(pipeline::run, TestStack.tinyRun("cancelme", 0.5));
    assertTrue(stack.activities.pretrainStarted.await(30, TimeUnit.SECONDS));
    Progress during = awaitProgressStep(pipeline);
    assertEquals(Stage.PRETRAIN, during.stage());
    assertEquals(64, during.samplesSeen());

    pipeline.cancel("user asked");
    RunSummary summary = WorkflowStub.fromTyped(pipeline).getResult(RunSummary.class);

    assertEquals(RunStatus.CANCELLED, summary.status());
    assertEquals("user asked", summary.message());
    assertTrue(summary.pretrain().stoppedEarly());
    assertTrue(summary.pretrain().checkpoint().uri().contains("/step"), "final checkpoint kept");
    assertEquals(0, stack.activities.count("evaluate"));
    assertEquals(0, stack.activities.count("unmaskedTune"));
    StageRecord last = stack.activities.stages.get(stack.activities.stages.size() - 1);
    assertEquals(Stage.PRETRAIN, last.stage());
    assertEquals(RunStatus.CANCELLED, last.status());
    assertEquals(RunStatus.CANCELLED, stack.activities.finishedRuns.get(0).status());
  }

  @Test
  void temporalCancellationAlsoRecordsCancelledAndEndsCanceled() throws Exception {
    stack.activities.pretrainUntilCancelled = true;
    FlipPipelineWorkflow pipeline = newPipeline("cli-cancel");
    WorkflowClient.start(pipeline::run, TestStack.tinyRun("cli-cancel", 0.5));
    assertTrue(stack.activities.pretrainStarted.await(30, TimeUnit.SECONDS));

    WorkflowStub.fromTyped(pipeline).cancel();
    WorkflowFailedException e =
        assertThrows(
            WorkflowFailedException.class,
            () -> WorkflowStub.fromTyped(pipeline).getResult(RunSummary.class));

    assertInstanceOf(CanceledFailure.class, e.getCause());
    assertEquals(1, stack.activities.count("pretrain stopped at step"));
    RunSummary recorded = stack.activities.finishedRuns.get(0);
    assertEquals(RunStatus.CANCELLED, recorded.status());
    assertTrue(recorded.pretrain().stoppedEarly());
  }

  @Test
  void badSpecFailsAtOnceNamingEveryBadField() {
    RunSpec bad = TestStack.tinyRun("bad", 1.0).with().batchSize(0).dataUri("/local/path").build();
    WorkflowFailedException e =
        assertThrows(WorkflowFailedException.class, () -> newPipeline("bad").run(bad));

    ApplicationFailure failure = assertInstanceOf(ApplicationFailure.class, e.getCause());
    assertEquals(FailureTypes.BAD_INPUT, failure.getType());
    assertTrue(failure.isNonRetryable());
    String message = failure.getOriginalMessage();
    assertTrue(message.contains("maskRatio: must be in [0, 1), got 1.0"), message);
    assertTrue(message.contains("batchSize: must be positive, got 0"), message);
    assertTrue(message.contains("dataUri: must look like s3://"), message);
    assertTrue(stack.activities.calls.isEmpty(), "no activity ran: " + stack.activities.calls);
  }

  @Test
  void aPresetTheWorkersDoNotKnowIsRefusedBeforeAnyWork() {
    RunSpec bad = TestStack.tinyRun("nopreset", 0.5).with().modelPreset("vit-x-99").build();
    WorkflowFailedException e =
        assertThrows(WorkflowFailedException.class, () -> newPipeline("nopreset").run(bad));
    ApplicationFailure failure = assertInstanceOf(ApplicationFailure.class, e.getCause());
    assertEquals(FailureTypes.BAD_INPUT, failure.getType());
    assertTrue(
        failure.getOriginalMessage().contains("modelPreset: unknown"),
        failure.getOriginalMessage());
    assertTrue(stack.activities.calls.isEmpty(), "no activity ran: " + stack.activities.calls);
  }

  @Test
  void aNameTakenByAnotherSpecIsRefusedBeforeAnythingIsRecorded() {
    stack.activities.refuseClaim = identity -> identity.workflowId().equals("taken");
    WorkflowFailedException e =
        assertThrows(
            WorkflowFailedException.class,
            () -> newPipeline("taken").run(TestStack.tinyRun("taken", 0.75)));
    ApplicationFailure failure = assertInstanceOf(ApplicationFailure.class, e.getCause());
    assertEquals(FailureTypes.BAD_INPUT, failure.getType());
    assertTrue(
        failure.getOriginalMessage().startsWith("run 'taken' already exists with another spec"),
        failure.getOriginalMessage());
    assertEquals(List.of("claimRun taken"), stack.activities.calls, "nothing else ran");
    assertTrue(stack.activities.stages.isEmpty(), "no stage row");
    assertTrue(stack.activities.finishedRuns.isEmpty(), "the existing run's row is left alone");
  }

  @Test
  void aWorkflowIdThatCannotBeAKeyIsRefused() {
    WorkflowFailedException e =
        assertThrows(
            WorkflowFailedException.class,
            () -> newPipeline("../escape").run(TestStack.tinyRun("escape", 0.5)));
    ApplicationFailure failure = assertInstanceOf(ApplicationFailure.class, e.getCause());
    assertTrue(failure.getOriginalMessage().contains("workflow id: '../escape'"));
    assertTrue(stack.activities.calls.isEmpty(), "no activity ran: " + stack.activities.calls);
  }

  @Test
  void aCancelReasonReachesTheRecordPrintable() throws Exception {
    stack.activities.pretrainUntilCancelled = true;
    FlipPipelineWorkflow pipeline = newPipeline("nulreason");
    WorkflowClient.start(pipeline::run, TestStack.tinyRun("nulreason", 0.5));
    assertTrue(stack.activities.pretrainStarted.await(30, TimeUnit.SECONDS));
    awaitProgressStep(pipeline);
    // Postgres refuses NUL in text: the reason is cleaned before it reaches the record
    pipeline.cancel("stop\u0000now" + "!".repeat(5000));
    RunSummary summary = WorkflowStub.fromTyped(pipeline).getResult(RunSummary.class);
    assertEquals(RunStatus.CANCELLED, summary.status());
    assertTrue(summary.message().startsWith("stop now!!!"), summary.message());
    assertTrue(summary.message().length() <= 1003, "bounded: " + summary.message().length());
    StageRecord last = stack.activities.stages.get(stack.activities.stages.size() - 1);
    assertEquals(summary.message(), last.message());
  }

  @Test
  void badInputInAnActivityIsNotRetriedAndRecordsFailed() {
    stack.activities.badData = id -> true;
    WorkflowFailedException e =
        assertThrows(
            WorkflowFailedException.class,
            () -> newPipeline("nodata").run(TestStack.tinyRun("nodata", 0.5)));

    ApplicationFailure failure = assertInstanceOf(ApplicationFailure.class, e.getCause());
    assertEquals(FailureTypes.STAGE_FAILED, failure.getType());
    assertTrue(
        failure.getOriginalMessage().contains("no shard matches s3://flipflow/emoji/train/"),
        failure.getOriginalMessage());
    assertEquals(
        1, stack.activities.stageDataAttempts.get(), "IllegalArgumentException not retried");
    StageRecord last = stack.activities.stages.get(stack.activities.stages.size() - 1);
    assertEquals(Stage.STAGE_DATA, last.stage());
    assertEquals(RunStatus.FAILED, last.status());
    assertEquals(RunStatus.FAILED, stack.activities.finishedRuns.get(0).status());
  }

  @Test
  void misspeltSpecFieldFailsTheWorkflowInsteadOfHanging() {
    java.util.Map<String, Object> spec = new java.util.LinkedHashMap<>();
    spec.put("name", "typo");
    spec.put("maskRatoi", 0.5);
    WorkflowStub stub =
        stack.client.newUntypedWorkflowStub(
            "FlipPipelineWorkflow",
            WorkflowOptions.newBuilder()
                .setWorkflowId("typo")
                .setTaskQueue(TaskQueues.CONTROL)
                .build());
    stub.start(spec);
    WorkflowFailedException e =
        assertThrows(WorkflowFailedException.class, () -> stub.getResult(RunSummary.class));
    String message = io.flipflow.workflows.Failures.message(e);
    assertTrue(message.contains("maskRatoi"), message);
    assertTrue(stack.activities.calls.isEmpty());
  }

  private Progress awaitProgressStep(FlipPipelineWorkflow pipeline) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    Progress p = pipeline.progress();
    while (p.step() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
      p = pipeline.progress();
    }
    return p;
  }

  private DescribeWorkflowExecutionResponse describe(String workflowId) {
    return stack
        .client
        .getWorkflowServiceStubs()
        .blockingStub()
        .describeWorkflowExecution(
            DescribeWorkflowExecutionRequest.newBuilder()
                .setNamespace(stack.client.getOptions().getNamespace())
                .setExecution(WorkflowExecution.newBuilder().setWorkflowId(workflowId))
                .build());
  }
}
