package io.flipflow.infra.cli;

import io.flipflow.workflows.pipeline.FlipPipelineWorkflow;
import io.flipflow.workflows.result.EvalProgress;
import io.flipflow.workflows.result.Progress;
import io.flipflow.workflows.result.TrainingHeartbeat;
import io.temporal.api.common.v1.WorkflowExecution;
import io.temporal.api.workflow.v1.PendingActivityInfo;
import io.temporal.api.workflowservice.v1.DescribeWorkflowExecutionRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.common.converter.DataConverter;
import io.temporal.common.converter.DefaultDataConverter;
import java.util.Optional;

/**
 * A pipeline's progress as of now: the training heartbeat of its pending activity when one is
 * training (what the UI shows, and never more than a heartbeat old), else the workflow's own {@code
 * progress} query (the stage, and the sparse copy of training progress).
 */
final class LiveProgress {
  private static final DataConverter CONVERTER = DefaultDataConverter.newDefaultInstance();

  private LiveProgress() {}

  static Progress of(WorkflowClient client, String workflowId) {
    Optional<Progress> beat = heartbeat(client, workflowId);
    if (beat.isPresent()) {
      return beat.get();
    }
    return client.newWorkflowStub(FlipPipelineWorkflow.class, workflowId).progress();
  }

  /** The newest training heartbeat of the run's pending activities, if one carries one. */
  static Optional<Progress> heartbeat(WorkflowClient client, String workflowId) {
    return heartbeat(client, workflowId, TrainingHeartbeat.class)
        .filter(h -> h.progress() != null && h.progress().stage() != null)
        .map(TrainingHeartbeat::progress);
  }

  /** An evaluation's progress, from the heartbeat of its pending activity, if it has sent one. */
  static Optional<EvalProgress> evaluation(WorkflowClient client, String workflowId) {
    return heartbeat(client, workflowId, EvalProgress.class).filter(p -> p.phase() != null);
  }

  /** The first pending activity's heartbeat that reads as {@code type}. */
  private static <T> Optional<T> heartbeat(
      WorkflowClient client, String workflowId, Class<T> type) {
    var response =
        client
            .getWorkflowServiceStubs()
            .blockingStub()
            .describeWorkflowExecution(
                DescribeWorkflowExecutionRequest.newBuilder()
                    .setNamespace(client.getOptions().getNamespace())
                    .setExecution(WorkflowExecution.newBuilder().setWorkflowId(workflowId))
                    .build());
    for (PendingActivityInfo activity : response.getPendingActivitiesList()) {
      if (!activity.hasHeartbeatDetails()) {
        continue;
      }
      try {
        T details =
            CONVERTER.fromPayloads(0, Optional.of(activity.getHeartbeatDetails()), type, type);
        if (details != null) {
          return Optional.of(details);
        }
      } catch (RuntimeException otherRecord) {
        // staging's, training's and evaluation's heartbeats carry different records
      }
    }
    return Optional.empty();
  }
}
