package io.flipflow.workflows.staging;

import io.flipflow.workflows.FailureTypes;
import io.flipflow.workflows.Failures;
import io.flipflow.workflows.activities.DataActivities;
import io.flipflow.workflows.pipeline.PipelineActivityOptions;
import io.flipflow.workflows.plan.StagingPlan;
import io.flipflow.workflows.plan.StagingRequest;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.StagedGroup;
import io.flipflow.workflows.result.StagingStatus;
import io.temporal.failure.ApplicationFailure;
import io.temporal.workflow.Async;
import io.temporal.workflow.CancellationScope;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;

/**
 * Plans, stages the groups of this execution with at most {@code groupsInFlight} scheduled, and
 * either continues as new with the next group or publishes. A group that fails for good cancels the
 * others and fails the staging; its activity's message names the shard.
 */
public class StagingWorkflowImpl implements StagingWorkflow {
  private static final Logger log = Workflow.getLogger(StagingWorkflowImpl.class);

  private final DataActivities data =
      Workflow.newActivityStub(DataActivities.class, PipelineActivityOptions.staging());

  private StagingStatus status = StagingStatus.planning();

  @Override
  public StagedDataset stage(StagingRequest request, StagingState carried) {
    String runId =
        Workflow.getInfo().getParentWorkflowId().orElse(Workflow.getInfo().getWorkflowId());
    StagingPlan plan;
    int next;
    if (carried == null) {
      plan = data.planStaging(request);
      if (plan.staged() != null) {
        return plan.staged();
      }
      next = 0;
      status = new StagingStatus(0, plan.groups(), 0, 0, 0);
      log.info(
          "staging {}: {} shards in {} groups of {}",
          plan.dataUri(),
          plan.shardCount(),
          plan.groups(),
          plan.shardsPerGroup());
    } else {
      plan = carried.plan();
      next = carried.nextGroup();
      status = carried.status();
    }
    int end = Math.min(plan.groups(), next + GROUPS_PER_EXECUTION);
    stageGroups(plan, next, end, runId);
    if (end < plan.groups()) {
      log.info(
          "staging {}: {} of {} groups staged, continuing as new",
          plan.dataUri(),
          end,
          plan.groups());
      StagingWorkflow continued = Workflow.newContinueAsNewStub(StagingWorkflow.class);
      continued.stage(request, new StagingState(plan, end, status));
    }
    return data.publishStaging(plan);
  }

  /**
   * Groups [from, end), at most {@code groupsInFlight} at once; the first failure ends them all.
   */
  private void stageGroups(StagingPlan plan, int from, int end, String runId) {
    Map<Integer, Promise<StagedGroup>> running = new LinkedHashMap<>();
    int[] next = {from};
    CancellationScope groups =
        Workflow.newCancellationScope(
            () -> {
              while (next[0] < end || !running.isEmpty()) {
                while (running.size() < plan.groupsInFlight() && next[0] < end) {
                  int index = next[0]++;
                  running.put(index, Async.function(data::stageGroup, plan.group(index, runId)));
                }
                Workflow.await(() -> running.values().stream().anyMatch(Promise::isCompleted));
                List<Integer> ended = new ArrayList<>();
                running.forEach(
                    (index, promise) -> {
                      if (promise.isCompleted()) {
                        ended.add(index);
                      }
                    });
                for (int index : ended) {
                  Promise<StagedGroup> promise = running.remove(index);
                  try {
                    status = status.plus(promise.get());
                  } catch (RuntimeException e) {
                    throw groupFailed(plan, index, e);
                  }
                }
              }
            });
    try {
      groups.run();
    } catch (RuntimeException e) {
      groups.cancel("another shard group of the staging failed");
      throw e;
    }
  }

  private static RuntimeException groupFailed(StagingPlan plan, int index, RuntimeException e) {
    if (Failures.isCancellation(e)) {
      return e;
    }
    var group = plan.group(index, "");
    String cause = Failures.message(e);
    // the stager's own limit messages already name the set and the shards
    String message =
        cause.startsWith("staging " + plan.dataUri())
            ? cause
            : "staging "
                + plan.dataUri()
                + " failed in shards "
                + group.firstShard()
                + "-"
                + (group.endShard() - 1)
                + ", nothing was published: "
                + cause;
    return ApplicationFailure.newNonRetryableFailureWithCause(
        message, FailureTypes.STAGE_FAILED, e);
  }

  @Override
  public StagingStatus status() {
    return status;
  }
}
