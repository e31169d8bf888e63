package io.flipflow.workflows;

import io.flipflow.workflows.evaluation.EvaluationWorkflowImpl;
import io.flipflow.workflows.pipeline.FlipPipelineWorkflowImpl;
import io.flipflow.workflows.staging.StagingWorkflowImpl;
import io.flipflow.workflows.study.ScalingStudyWorkflowImpl;
import io.temporal.common.converter.DataConverterException;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkflowImplementationOptions;

/** Registers the workflows on a {@code flipflow-control} worker with the options they need. */
public final class FlipflowWorkflows {
  /**
   * An input that cannot be read (a misspelt field in a spec file) fails the workflow with the
   * field named, instead of failing its workflow task again and again.
   */
  public static final WorkflowImplementationOptions OPTIONS =
      WorkflowImplementationOptions.newBuilder()
          .setFailWorkflowExceptionTypes(DataConverterException.class)
          .build();

  private FlipflowWorkflows() {}

  /**
   * Registers the pipeline, study, evaluation and staging workflows on a worker of the control
   * queue.
   */
  public static void register(Worker controlWorker) {
    controlWorker.registerWorkflowImplementationTypes(
        OPTIONS,
        FlipPipelineWorkflowImpl.class,
        ScalingStudyWorkflowImpl.class,
        EvaluationWorkflowImpl.class,
        StagingWorkflowImpl.class);
  }
}
