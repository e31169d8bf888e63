package io.flipflow.workflows.pipeline;

import io.flipflow.workflows.TaskQueues;
import io.flipflow.workflows.activities.DataActivities;
import io.flipflow.workflows.activities.EvaluationActivities;
import io.flipflow.workflows.activities.RecordActivities;
import io.flipflow.workflows.activities.TrainingActivities;
import io.flipflow.workflows.plan.PresetFacts;
import io.flipflow.workflows.plan.RunPlans;
import io.flipflow.workflows.plan.TrainingPlan;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.TrainResult;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.staging.StagingWorkflow;
import io.temporal.workflow.ChildWorkflowOptions;
import io.temporal.workflow.Workflow;

/** Each stage gets the request {@link RunPlans} makes for it, and nothing else of the spec. */
final class PlannedStageCalls implements StageCalls {
  /** Staging is a child {@link StagingWorkflow} fanned out over the cpu workers. */
  static final String STAGING_WORKFLOW = "staging-workflow";

  private final DataActivities data;
  private final TrainingActivities training;
  private final RankGang gang;
  private final EvaluationActivities evaluation;
  private final RecordActivities record;
  private final String workflowId;
  private final PresetFacts preset;

  PlannedStageCalls(PipelineStubs stubs, String workflowId, PresetFacts preset) {
    this.data = stubs.data();
    this.training = stubs.training();
    this.gang = new RankGang(stubs.trainingRanks());
    this.evaluation = stubs.evaluation();
    this.record = stubs.record();
    this.workflowId = workflowId;
    this.preset = preset;
  }

  @Override
  @SuppressWarnings("deprecation") // the one-activity staging, for pipelines started before
  public StagedDataset stage(RunSpec spec) {
    if (Workflow.getVersion(STAGING_WORKFLOW, Workflow.DEFAULT_VERSION, 1) == 1) {
      StagingWorkflow staging =
          Workflow.newChildWorkflowStub(
              StagingWorkflow.class,
              ChildWorkflowOptions.newBuilder()
                  .setWorkflowId(StagingWorkflow.idFor(workflowId))
                  .setTaskQueue(TaskQueues.CONTROL)
                  .build());
      return staging.stage(RunPlans.staging(spec, preset), null);
    }
    return data.stage(RunPlans.staging(spec, preset));
  }

  @Override
  public TrainResult pretrain(RunSpec spec, StagedDataset staged) {
    return train(spec, RunPlans.pretraining(spec, staged));
  }

  @Override
  public TrainResult tune(RunSpec spec, StagedDataset staged, CheckpointRef pretrained) {
    return train(spec, RunPlans.tuning(spec, staged, pretrained));
  }

  /** One activity, or a gang of {@code ranks} activities trained together. */
  private TrainResult train(RunSpec spec, TrainingPlan plan) {
    return spec.worldSize() > 1 ? gang.train(plan, spec.worldSize()) : training.train(plan);
  }

  @Override
  public EvalReport evaluate(
      RunSpec spec, StagedDataset staged, CheckpointRef checkpoint, String phase) {
    return evaluation.evaluateCheckpoint(RunPlans.evaluation(spec, staged, checkpoint, phase));
  }

  @Override
  public void recordStaged(RunSpec spec, StagedDataset staged) {
    record.recordDataSamples(workflowId, RunPlans.samplesUsed(spec, staged));
  }

  @Override
  public void recordEvaluated(String phase, CheckpointRef checkpoint, EvalReport report) {
    // the evaluation activity is eval_results' one writer
  }
}
