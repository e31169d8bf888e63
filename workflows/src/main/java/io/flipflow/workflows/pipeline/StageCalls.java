package io.flipflow.workflows.pipeline;

import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.TrainResult;
import io.flipflow.workflows.spec.RunSpec;

/**
 * The pipeline's calls to its stage activities as of one workflow version: the stage logic is one,
 * what goes over the wire changed. {@link PlannedStageCalls} is today's; {@link LegacyStageCalls}
 * replays pipelines started before version {@code stage-requests}.
 */
interface StageCalls {
  StagedDataset stage(RunSpec spec);

  TrainResult pretrain(RunSpec spec, StagedDataset data);

  TrainResult tune(RunSpec spec, StagedDataset data, CheckpointRef pretrained);

  EvalReport evaluate(RunSpec spec, StagedDataset data, CheckpointRef checkpoint, String phase);

  /** Records what staging produced; runs in a detached scope. */
  void recordStaged(RunSpec spec, StagedDataset data);

  /** Records an evaluation's results where the activity did not; runs in a detached scope. */
  void recordEvaluated(String phase, CheckpointRef checkpoint, EvalReport report);
}
