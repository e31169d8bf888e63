package io.flipflow.workflows.scale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.TaskQueues;
import io.flipflow.workflows.TestStack;
import io.flipflow.workflows.activities.ProgressSignals;
import io.flipflow.workflows.pipeline.FlipPipelineWorkflow;
import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.RunSummary;
import io.temporal.api.enums.v1.EventType;
import io.temporal.api.history.v1.History;
import io.temporal.client.WorkflowOptions;
import org.junit.jupiter.api.Test;

/**
 * A pretraining of 30 days, simulated on a virtual clock in one-second steps against the test
 * server, sends its progress as the real activity does: its pipeline's history stays far inside
 * Temporal's limits (10,000 signals, 51,200 events), and the signals are the ones the policy sent.
 * A signal a minute, as before, would have been 43,200 signals: past both limits in a week.
 */
class MonthLongRunTest {
  static final long MONTH_MILLIS = 30L * 24 * 3600 * 1000;

  @Test
  void aMonthOfProgressStaysInsideTemporalsLimits() throws Exception {
    try (TestStack stack = new TestStack()) {
      stack.activities.simulatedTrainingMillis = MONTH_MILLIS;
      FlipPipelineWorkflow pipeline =
          stack.client.newWorkflowStub(
              FlipPipelineWorkflow.class,
              WorkflowOptions.newBuilder()
                  .setWorkflowId("a-month")
                  .setTaskQueue(TaskQueues.CONTROL)
                  .build());
      RunSummary summary = pipeline.run(TestStack.tinyRun("a-month", 0.75));
      assertEquals(RunStatus.FINISHED, summary.status());
      assertEquals(MONTH_MILLIS / 1000, summary.pretrain().steps());

      History history = stack.client.fetchHistory("a-month").getHistory();
      long signals =
          history.getEventsList().stream()
              .filter(e -> e.getEventType() == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
              .count();
      ExecutionFigures figures = ExecutionFigures.of(history);
      System.out.printf(
          "a month of pretraining: %d progress signals, %d history events (limits 10,000 and"
              + " %,d)%n",
          signals, figures.events(), ExecutionFigures.MAX_EVENTS);
      assertEquals(stack.activities.simulatedSignals.get(), signals, "every signal is in history");
      assertTrue(signals <= ProgressSignals.MAX_SIGNALS, "capped: " + signals);
      assertTrue(signals < 2_000, "sparse: " + signals);
      assertTrue(figures.events() < ExecutionFigures.MAX_EVENTS / 4, "events: " + figures.events());
    }
  }
}
