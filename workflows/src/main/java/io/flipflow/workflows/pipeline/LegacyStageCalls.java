package io.flipflow.workflows.pipeline;

import io.flipflow.workflows.activities.DataActivities;
import io.flipflow.workflows.activities.EvaluationActivities;
import io.flipflow.workflows.activities.RecordActivities;
import io.flipflow.workflows.activities.TrainingActivities;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.TrainResult;
import io.flipflow.workflows.spec.RunSpec;

/**
 * The calls of pipelines started before version {@code stage-requests}: every stage got the whole
 * spec, and evaluation results were sent to the record a second time. Kept, unchanged, so those
 * histories replay; delete it (and the deprecated activity methods) once none runs.
 */
@SuppressWarnings("deprecation")
final class LegacyStageCalls implements StageCalls {
  private final DataActivities data;
  private final TrainingActivities training;
  private final EvaluationActivities evaluation;
  private final RecordActivities record;
  private final String workflowId;

  LegacyStageCalls(PipelineStubs stubs, String workflowId) {
    this.data = stubs.data();
    this.training = stubs.training();
    this.evaluation = stubs.evaluation();
    this.record = stubs.record();
    this.workflowId = workflowId;
  }

  @Override
  public StagedDataset stage(RunSpec spec) {
    return data.stageData(spec);
  }

  @Override
  public TrainResult pretrain(RunSpec spec, StagedDataset staged) {
    return training.pretrain(spec, staged, workflowId);
  }

  @Override
  public TrainResult tune(RunSpec spec, StagedDataset staged, CheckpointRef pretrained) {
    return training.unmaskedTune(spec, staged, pretrained);
  }

  @Override
  public EvalReport evaluate(
      RunSpec spec, StagedDataset staged, CheckpointRef checkpoint, String phase) {
    return evaluation.evaluate(spec, checkpoint, phase);
  }

  @Override
  public void recordStaged(RunSpec spec, StagedDataset staged) {
    // the old staging activity wrote runs.data_samples itself
  }

  @Override
  public void recordEvaluated(String phase, CheckpointRef checkpoint, EvalReport report) {
    record.recordEvalResults(workflowId, phase, checkpoint, report);
  }
}
