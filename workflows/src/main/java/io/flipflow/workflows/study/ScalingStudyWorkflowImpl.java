package io.flipflow.workflows.study;

import io.flipflow.workflows.FailureTypes;
import io.flipflow.workflows.Failures;
import io.flipflow.workflows.SearchAttributeKeys;
import io.flipflow.workflows.TaskQueues;
import io.flipflow.workflows.activities.RecordActivities;
import io.flipflow.workflows.pipeline.FlipPipelineWorkflow;
import io.flipflow.workflows.pipeline.PipelineActivityOptions;
import io.flipflow.workflows.result.RunStatus;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.result.StudyRunResult;
import io.flipflow.workflows.result.StudySummary;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.StudyCell;
import io.flipflow.workflows.spec.StudySpec;
import io.temporal.api.enums.v1.ParentClosePolicy;
import io.temporal.common.SearchAttributes;
import io.temporal.failure.ApplicationFailure;
import io.temporal.workflow.Async;
import io.temporal.workflow.ChildWorkflowOptions;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;

/**
 * Starts the grid's children in grid order, at most {@code parallelism} at once. After {@code
 * maxRunsPerExecution} starts it lets the running children finish and continues as new with the
 * next cell's index and the results so far, so one execution's history stays bounded. Children
 * outlive nothing: if the study is cancelled or terminated they are asked to cancel (and stop with
 * a checkpoint).
 */
public class ScalingStudyWorkflowImpl implements ScalingStudyWorkflow {
  private static final Logger log = Workflow.getLogger(ScalingStudyWorkflowImpl.class);

  private final RecordActivities record =
      Workflow.newActivityStub(RecordActivities.class, PipelineActivityOptions.record());

  private String studyId;
  private List<StudyCell> grid = List.of();
  // Children started and not yet collected; insertion-ordered so results are collected in a
  // deterministic order.
  private final Map<StudyCell, Promise<RunSummary>> running = new LinkedHashMap<>();
  private final List<StudyRunResult> done = new ArrayList<>();

  @Override
  public StudySummary run(StudySpec spec, StudyState carried) {
    List<String> problems = spec == null ? List.of("spec: is missing") : spec.validate();
    if (!problems.isEmpty()) {
      throw ApplicationFailure.newNonRetryableFailure(
          "invalid study spec: " + String.join("; ", problems), FailureTypes.BAD_INPUT);
    }
    StudyState state = carried == null ? StudyState.start() : carried;
    studyId = spec.studyId();
    done.addAll(state.done());
    String workflowId = Workflow.getInfo().getWorkflowId();
    Workflow.upsertTypedSearchAttributes(SearchAttributeKeys.STUDY.valueSet(studyId));
    if (carried == null) {
      record.recordStudy(studyId, workflowId, spec, RunStatus.RUNNING);
    }

    grid = spec.expand();
    int next = state.nextCell();
    try {
      next = runCells(spec, next);
    } catch (RuntimeException cancelled) {
      if (!Failures.isCancellation(cancelled)) {
        throw cancelled;
      }
      // The children were asked to cancel with the study; wait for them to stop (with their
      // checkpoints) and record how they ended, then end the study as cancelled.
      Workflow.newDetachedCancellationScope(
              () -> {
                Workflow.await(() -> running.values().stream().allMatch(Promise::isCompleted));
                collectEnded();
                record.recordStudy(studyId, workflowId, spec, RunStatus.CANCELLED);
              })
          .run();
      throw cancelled;
    }
    if (next < grid.size()) {
      log.info("study {}: {} of {} runs started, continuing as new", studyId, next, grid.size());
      ScalingStudyWorkflow continued = Workflow.newContinueAsNewStub(ScalingStudyWorkflow.class);
      continued.run(spec, new StudyState(next, sortedInGridOrder()));
    }
    record.recordStudy(studyId, workflowId, spec, RunStatus.FINISHED);
    return results();
  }

  /** Starts cells from {@code next} on; returns the index of the first cell not started. */
  private int runCells(StudySpec spec, int next) {
    int startedHere = 0;
    while (next < grid.size() || !running.isEmpty()) {
      while (running.size() < spec.parallelism()
          && next < grid.size()
          && startedHere < spec.maxRunsPerExecution()) {
        StudyCell cell = grid.get(next++);
        startedHere++;
        running.put(cell, startChild(cell));
      }
      if (running.isEmpty()) {
        break; // this execution's quota is used up and every child has ended
      }
      Workflow.await(() -> running.values().stream().anyMatch(Promise::isCompleted));
      collectEnded();
    }
    return next;
  }

  /** Records every ended child and forgets it. */
  private void collectEnded() {
    List<StudyCell> ended = new ArrayList<>();
    running.forEach(
        (cell, promise) -> {
          if (promise.isCompleted()) {
            ended.add(cell);
          }
        });
    for (StudyCell cell : ended) {
      StudyRunResult result = resultOf(cell, running.remove(cell));
      done.add(result);
      // Detached: a study cancelled meanwhile still writes how this run ended.
      Workflow.newDetachedCancellationScope(() -> record.recordStudyRun(studyId, result)).run();
    }
  }

  private Promise<RunSummary> startChild(StudyCell cell) {
    ChildWorkflowOptions options =
        ChildWorkflowOptions.newBuilder()
            .setWorkflowId(cell.workflowId())
            .setTaskQueue(TaskQueues.CONTROL)
            .setParentClosePolicy(ParentClosePolicy.PARENT_CLOSE_POLICY_REQUEST_CANCEL)
            .setTypedSearchAttributes(
                SearchAttributes.newBuilder().set(SearchAttributeKeys.STUDY, studyId).build())
            .build();
    FlipPipelineWorkflow child = Workflow.newChildWorkflowStub(FlipPipelineWorkflow.class, options);
    return Async.function(child::run, cell.spec());
  }

  /** A failed or cancelled child becomes a result row, not a study failure. */
  private static StudyRunResult resultOf(StudyCell cell, Promise<RunSummary> promise) {
    RunSpec spec = cell.spec();
    Long schedule = spec.scheduleSamples();
    try {
      RunSummary run = promise.get();
      return new StudyRunResult(
          cell.workflowId(),
          spec.modelPreset(),
          spec.dataSamples(),
          schedule,
          spec.maskRatio(),
          spec.batchSize(),
          run.status(),
          run.zeroShotTop1(),
          run.pretrain() == null ? null : run.pretrain().samplesSeen(),
          run.wallSeconds(),
          run.message());
    } catch (RuntimeException e) {
      boolean cancelled = Failures.isCancellation(e);
      return new StudyRunResult(
          cell.workflowId(),
          spec.modelPreset(),
          spec.dataSamples(),
          schedule,
          spec.maskRatio(),
          spec.batchSize(),
          cancelled ? RunStatus.CANCELLED : RunStatus.FAILED,
          null,
          null,
          0,
          Failures.message(e));
    }
  }

  private List<StudyRunResult> sortedInGridOrder() {
    Map<String, Integer> position = new LinkedHashMap<>();
    for (int i = 0; i < grid.size(); i++) {
      position.put(grid.get(i).workflowId(), i);
    }
    List<StudyRunResult> sorted = new ArrayList<>(done);
    sorted.sort(Comparator.comparing(r -> position.getOrDefault(r.workflowId(), -1)));
    return sorted;
  }

  @Override
  public StudySummary results() {
    int finished = 0;
    int failed = 0;
    int cancelled = 0;
    for (StudyRunResult r : done) {
      switch (r.status()) {
        case FINISHED -> finished++;
        case FAILED -> failed++;
        case CANCELLED -> cancelled++;
        default -> {}
      }
    }
    return new StudySummary(studyId, sortedInGridOrder(), finished, failed, cancelled);
  }
}
