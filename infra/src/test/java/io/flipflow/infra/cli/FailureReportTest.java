package io.flipflow.infra.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.infra.config.FlipflowConfig;
import io.temporal.activity.ActivityInterface;
import io.temporal.activity.ActivityOptions;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowFailedException;
import io.temporal.client.WorkflowOptions;
import io.temporal.common.RetryOptions;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.ApplicationFailure;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import io.temporal.workflow.Workflow;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A failed run reads as a message, and progress in a log is plain lines (issue 19). */
class FailureReportTest {
  @ActivityInterface
  public interface Stages {
    void pretrain();
  }

  @WorkflowInterface
  public interface Fails {
    @WorkflowMethod
    void run();
  }

  /** Fails the way the pipeline does: its stage's failure wrapped twice. */
  public static class FailsImpl implements Fails {
    private final Stages stages =
        Workflow.newActivityStub(
            Stages.class,
            ActivityOptions.newBuilder()
                .setStartToCloseTimeout(Duration.ofSeconds(10))
                .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(1).build())
                .build());

    @Override
    public void run() {
      try {
        stages.pretrain();
      } catch (ActivityFailure e) {
        ApplicationFailure stage =
            ApplicationFailure.newNonRetryableFailureWithCause(
                "stage PRETRAIN failed: warmupSteps must be in [0, totalSteps=4], got 10",
                "FlipStageFailed",
                e);
        throw ApplicationFailure.newNonRetryableFailureWithCause(
            "run wf-fails failed: stage PRETRAIN failed: warmupSteps must be in [0, totalSteps=4],"
                + " got 10",
            "FlipStageFailed",
            stage);
      }
    }
  }

  @Test
  void aFailedRunIsTheRunTheStageTheCauseAndWhereToLook(@TempDir Path project) throws Exception {
    WorkflowFailedException failure;
    try (TestWorkflowEnvironment env = TestWorkflowEnvironment.newInstance()) {
      Worker worker = env.newWorker("fails");
      worker.registerWorkflowImplementationTypes(FailsImpl.class);
      worker.registerActivitiesImplementations(
          (Stages)
              () -> {
                throw ApplicationFailure.newNonRetryableFailure(
                    "warmupSteps must be in [0, totalSteps=4], got 10", "BadInput");
              });
      env.start();
      WorkflowClient client = env.getWorkflowClient();
      Fails run =
          client.newWorkflowStub(
              Fails.class,
              WorkflowOptions.newBuilder().setWorkflowId("wf-fails").setTaskQueue("fails").build());
      failure = assertThrows(WorkflowFailedException.class, run::run);
    }
    FlipflowConfig config =
        FlipflowConfig.load(project, Map.of("FLIPFLOW_TEMPORAL_UI_URL", "http://ui.example:8080/"));
    StringWriter plain = new StringWriter();
    assertEquals(1, FailureReport.print(failure, config, new PrintWriter(plain), false));
    String[] lines = plain.toString().split("\\R");
    assertEquals(
        "flipflow: run wf-fails FAILED in stage PRETRAIN: warmupSteps must be in [0,"
            + " totalSteps=4], got 10",
        lines[0]);
    assertTrue(
        lines[1].matches(
            "  workflow wf-fails( \\(run [0-9a-f-]+\\))?  "
                + "http://ui.example:8080/namespaces/default/workflows/wf-fails"),
        lines[1]);
    assertEquals(3, lines.length, plain.toString());
    assertFalse(plain.toString().contains("\tat "), "no stack trace without --verbose");

    StringWriter verbose = new StringWriter();
    FailureReport.print(failure, config, new PrintWriter(verbose), true);
    assertTrue(verbose.toString().contains("\tat "), "the stack trace with --verbose");
  }

  @Test
  void progressWhereStdoutIsNotATerminalIsPlainLinesAtStageChanges() {
    assertFalse(Console.isTerminal(), "tests run without a terminal");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Follow.Progressor p = new Follow.Progressor(new PrintStream(bytes, true));
    for (int i = 0; i < 50; i++) {
      p.show("run-a", "PRETRAIN", "run-a PRETRAIN step " + i);
    }
    p.show("run-a", "EVAL_PRETRAINED", "run-a EVAL_PRETRAINED");
    p.println("  run-a FINISHED");
    p.end();
    String out = bytes.toString();
    assertFalse(out.contains("\r"), "no carriage returns in a log");
    assertEquals(
        String.join(
                System.lineSeparator(),
                "run-a PRETRAIN step 0",
                "run-a EVAL_PRETRAINED",
                "  run-a FINISHED")
            + System.lineSeparator(),
        out,
        "one line per stage change (the 30 s interval did not pass)");
  }
}
