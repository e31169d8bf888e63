package io.flipflow.workflows.pipeline;

import io.flipflow.workflows.activities.DataActivities;
import io.flipflow.workflows.activities.EvaluationActivities;
import io.flipflow.workflows.activities.RecordActivities;
import io.flipflow.workflows.activities.TrainingActivities;
import io.temporal.workflow.Workflow;

/** The pipeline's activity stubs, each with its kind of work's options and queue. */
record PipelineStubs(
    DataActivities data,
    TrainingActivities training,
    TrainingActivities trainingRanks,
    EvaluationActivities evaluation,
    RecordActivities record) {

  /** New stubs; call from workflow code. */
  static PipelineStubs create() {
    return new PipelineStubs(
        Workflow.newActivityStub(DataActivities.class, PipelineActivityOptions.staging()),
        Workflow.newActivityStub(TrainingActivities.class, PipelineActivityOptions.training()),
        Workflow.newActivityStub(TrainingActivities.class, PipelineActivityOptions.trainingRank()),
        Workflow.newActivityStub(EvaluationActivities.class, PipelineActivityOptions.evaluation()),
        Workflow.newActivityStub(RecordActivities.class, PipelineActivityOptions.record()));
  }
}
