package io.flipflow.workflows.pipeline;

import io.flipflow.workflows.result.Progress;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.workflow.QueryMethod;
import io.temporal.workflow.SignalMethod;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * One FLIP run: validate, record, stage data, masked pretraining, evaluate, unmasked tuning
 * (skippable), evaluate again, record the outcome. Workflow type {@code FlipPipelineWorkflow} on
 * task queue {@code flipflow-control}.
 */
@WorkflowInterface
public interface FlipPipelineWorkflow {
  /**
   * Runs the pipeline. A bad spec fails at once (ApplicationFailure type {@code BadInput} naming
   * every bad field); a stage that fails after its retries fails the workflow (type {@code
   * FlipStageFailed}) after recording FAILED. A {@link #cancel} returns a summary with status
   * CANCELLED; a Temporal cancellation ({@code temporal workflow cancel}) records CANCELLED the
   * same way and ends the workflow as Canceled.
   */
  @WorkflowMethod
  RunSummary run(RunSpec spec);

  /** Stage, and during training the step, samples, loss, throughput and ETA last reported. */
  @QueryMethod
  Progress progress();

  /**
   * Stops the run: the current activity is cancelled; training stops at its next step boundary with
   * a checkpoint, which the summary keeps. Later stages are skipped. Idempotent.
   */
  @SignalMethod
  void cancel(String reason);

  /**
   * Sent by the training activities, sparsely (see {@code ProgressSignals}), so {@link #progress}
   * can show training progress; workflows cannot read heartbeats, and the live figures are the
   * pending activity's heartbeat. A report for another stage than the current one (a late signal)
   * is ignored.
   */
  @SignalMethod
  void reportProgress(Progress progress);
}
