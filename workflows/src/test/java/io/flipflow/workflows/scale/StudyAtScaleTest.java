package io.flipflow.workflows.scale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.TaskQueues;
import io.flipflow.workflows.TestStack;
import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.result.StudyRunResult;
import io.flipflow.workflows.result.StudySummary;
import io.flipflow.workflows.spec.StudyAxes;
import io.flipflow.workflows.spec.StudyBudget;
import io.flipflow.workflows.spec.StudyCell;
import io.flipflow.workflows.spec.StudySpec;
import io.flipflow.workflows.study.ScalingStudyWorkflow;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.history.v1.History;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import io.temporal.common.converter.DefaultDataConverter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Scale on paper, measured: a study of 100+ runs on Temporal's time-skipping test server with the
 * fake activities, checking the figures Temporal limits (history events and bytes per execution,
 * payload size, pending children) across every continue-as-new execution of the study and every
 * child, and that each run is recorded exactly once. Prints one {@code FIGURE} line per study for
 * the README's scaling section.
 */
class StudyAtScaleTest {
  private static final int PARALLELISM = 8;

  private TestStack stack;

  @BeforeEach
  void start() {
    stack = new TestStack();
    // Each run holds its slot a little while, so that the children of a study overlap.
    stack.activities.stagingMillis = 5;
  }

  @AfterEach
  void stop() {
    stack.close();
  }

  @Test
  void studyOf120RunsStaysWithinTemporalLimits() {
    // 5 mask ratios x 4 batch sizes x 6 schedule lengths; 25 runs per execution: 5 executions.
    StudySpec spec =
        study(
            "scale120",
            List.of(0.0, 0.25, 0.5, 0.75, 0.9),
            List.of(32, 64, 128, 256),
            List.of(6_400L, 12_800L, 25_600L, 51_200L, 102_400L, 204_800L),
            25);
    runAndMeasure(spec);
  }

  @Test
  void studyOf1000RunsStaysWithinTemporalLimits() {
    // 10 x 10 x 10 at the default 100 runs per execution: 10 executions.
    StudySpec spec =
        study(
            "scale1000",
            IntStream.range(0, 10).mapToObj(i -> i / 10.0).toList(),
            IntStream.rangeClosed(1, 10).mapToObj(i -> 16 * i).toList(),
            IntStream.rangeClosed(1, 10).mapToObj(i -> 6_400L * i).toList(),
            StudySpec.DEFAULT_MAX_RUNS_PER_EXECUTION);
    StudySummary summary = runAndMeasure(spec);

    // The largest payload is the study's own result (and the state it carries into its last
    // execution): every run's result row, so it grows with the grid. Check that serializing the
    // summary reproduces the measured figure, then project it to the largest grid a spec allows.
    long measured = summaryBytes(summary);
    assertTrue(
        Math.abs(measured - lastFigures.maxPayloadBytes()) < 1024, measured + " vs " + lastFigures);
    StudySpec largest =
        study(
            "scale2000",
            IntStream.range(0, 10).mapToObj(i -> i / 10.0).toList(),
            IntStream.rangeClosed(1, 10).mapToObj(i -> 16 * i).toList(),
            IntStream.rangeClosed(1, 20).mapToObj(i -> 6_400L * i).toList(),
            StudySpec.DEFAULT_MAX_RUNS_PER_EXECUTION);
    assertEquals(StudySpec.MAX_GRID_SIZE, largest.gridSize());
    StudyRunResult typical = summary.runs().get(summary.runs().size() - 1);
    List<StudyRunResult> rows =
        largest.expand().stream()
            .map(
                cell ->
                    new StudyRunResult(
                        cell.workflowId(),
                        cell.spec().modelPreset(),
                        cell.spec().dataSamples(),
                        cell.spec().samples(),
                        cell.spec().maskRatio(),
                        cell.spec().batchSize(),
                        typical.status(),
                        typical.zeroShotTop1(),
                        typical.samplesSeen(),
                        typical.wallSeconds(),
                        typical.message()))
            .toList();
    long projected = summaryBytes(new StudySummary("scale2000", rows, rows.size(), 0, 0));
    System.out.printf(
        Locale.ROOT,
        "FIGURE projection runs=%d studyResultBytes=%d bytesPerRun=%d payloadWarning=%d"
            + " payloadLimit=%d runsAtWarning=%d runsAtLimit=%d%n",
        rows.size(),
        projected,
        projected / rows.size(),
        ExecutionFigures.PAYLOAD_WARNING_BYTES,
        ExecutionFigures.MAX_PAYLOAD_BYTES,
        ExecutionFigures.PAYLOAD_WARNING_BYTES * rows.size() / projected,
        ExecutionFigures.MAX_PAYLOAD_BYTES * rows.size() / projected);
    // the largest grid a spec allows keeps the study's result below Temporal's payload limit
    assertTrue(projected < ExecutionFigures.MAX_PAYLOAD_BYTES, "projected " + projected);
  }

  private static long summaryBytes(StudySummary summary) {
    return DefaultDataConverter.newDefaultInstance()
        .toPayloads(summary)
        .orElseThrow()
        .getSerializedSize();
  }

  private static StudySpec study(
      String id,
      List<Double> masks,
      List<Integer> batches,
      List<Long> schedules,
      int maxRunsPerExecution) {
    return new StudySpec(
        id,
        "scale check with simulated activities",
        TestStack.tinyRun("base", 0.0),
        new StudyAxes(null, null, schedules, masks, batches, null, null, null, null),
        PARALLELISM,
        StudyBudget.EQUAL_SAMPLES,
        null,
        maxRunsPerExecution,
        null);
  }

  /** The study's largest figures over its executions, from the last {@link #runAndMeasure}. */
  private ExecutionFigures lastFigures;

  private StudySummary runAndMeasure(StudySpec spec) {
    assertEquals(List.of(), spec.validate());
    List<String> gridIds = spec.expand().stream().map(StudyCell::workflowId).toList();
    List<String> sortedIds = gridIds.stream().sorted().toList();
    int runs = gridIds.size();
    ScalingStudyWorkflow study =
        stack.client.newWorkflowStub(
            ScalingStudyWorkflow.class,
            WorkflowOptions.newBuilder()
                .setWorkflowId(spec.studyId())
                .setTaskQueue(TaskQueues.CONTROL)
                .build());

    long startNanos = System.nanoTime();
    WorkflowExecution first = WorkflowClient.start(study::run, spec, null);
    StudySummary summary = WorkflowStub.fromTyped(study).getResult(StudySummary.class);
    double wallSeconds = (System.nanoTime() - startNanos) / 1e9;

    // The study finished every run, and each was recorded exactly once.
    assertEquals(runs, summary.finished(), "finished runs");
    assertEquals(gridIds, summary.runs().stream().map(StudyRunResult::workflowId).toList());
    assertEquals(
        sortedIds,
        stack.activities.studyRuns.stream().map(StudyRunResult::workflowId).sorted().toList(),
        "recordStudyRun once per grid cell");
    assertEquals(
        sortedIds,
        stack.activities.finishedRuns.stream().map(RunSummary::workflowId).sorted().toList(),
        "recordRunFinished once per run");
    assertEquals(runs, stack.activities.count("pretrain "), "no cell trained twice");
    assertEquals(List.of(RunStatus.RUNNING, RunStatus.FINISHED), stack.activities.studyStatuses);

    // Every execution of the study, following the continue-as-new chain.
    List<ExecutionFigures> executions = new ArrayList<>();
    String runId = first.getRunId();
    while (runId != null) {
      History history = stack.client.fetchHistory(spec.studyId(), runId).getHistory();
      executions.add(ExecutionFigures.of(history));
      runId = ExecutionFigures.continuedAs(history);
    }
    int expectedExecutions = (runs + spec.maxRunsPerExecution() - 1) / spec.maxRunsPerExecution();
    assertEquals(expectedExecutions, executions.size(), "one execution per maxRunsPerExecution");
    ExecutionFigures studyMax = ExecutionFigures.max(executions);

    List<ExecutionFigures> children = new ArrayList<>();
    for (String child : gridIds) {
      children.add(ExecutionFigures.of(stack.client.fetchHistory(child).getHistory()));
    }
    ExecutionFigures childMax = ExecutionFigures.max(children);

    System.out.printf(
        Locale.ROOT,
        "FIGURE study runs=%d parallelism=%d maxRunsPerExecution=%d executions=%d"
            + " maxEventsPerExecution=%d maxHistoryBytes=%d maxPayloadBytes=%d"
            + " maxConcurrentChildren=%d maxRunsAtOnce=%d childMaxEvents=%d childMaxHistoryBytes=%d"
            + " childMaxPayloadBytes=%d wall=%.1fs%n",
        runs,
        PARALLELISM,
        spec.maxRunsPerExecution(),
        executions.size(),
        studyMax.events(),
        studyMax.historyBytes(),
        studyMax.maxPayloadBytes(),
        studyMax.maxPendingChildren(),
        stack.activities.maxActiveRuns.get(),
        childMax.events(),
        childMax.historyBytes(),
        childMax.maxPayloadBytes(),
        wallSeconds);

    for (ExecutionFigures figures : List.of(studyMax, childMax)) {
      // An order of magnitude under the hard limits, so that growth shows long before it fails.
      assertTrue(figures.events() < ExecutionFigures.MAX_EVENTS / 10, figures.toString());
      assertTrue(
          figures.historyBytes() < ExecutionFigures.MAX_HISTORY_BYTES / 10, figures.toString());
      assertTrue(
          figures.maxPayloadBytes() < ExecutionFigures.PAYLOAD_WARNING_BYTES, figures.toString());
    }
    assertEquals(PARALLELISM, studyMax.maxPendingChildren(), "pending children = parallelism");
    assertTrue(
        stack.activities.maxActiveRuns.get() <= PARALLELISM,
        "runs at once: " + stack.activities.maxActiveRuns.get());
    lastFigures = studyMax;
    return summary;
  }
}
