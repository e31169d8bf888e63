package io.flipflow.infra.cli;

import io.flipflow.workflows.pipeline.FlipPipelineWorkflow;
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
        TrainingHeartbeat h =
            CONVERTER.fromPayloads(
                0,
                Optional.of(activity.getHeartbeatDetails()),
                TrainingHeartbeat.class,
                TrainingHeartbeat.class);
        if (h != null && h.progress() != null && h.progress().stage() != null) {
          return Optional.of(h.progress());
        }
      } catch (RuntimeException notTraining) {
        // staging's and evaluation's heartbeats carry other records
      }
    }
    return Optional.empty();
  }
}
