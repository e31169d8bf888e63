package io.flipflow.workflows;

import java.util.List;

/**
 * Task queue names. Workflows and light recording activities run on {@link #CONTROL}; data staging
 * on {@link #CPU}; training and evaluation on {@link #GPU}, one activity slot per device.
 */
public final class TaskQueues {
  /** Workflows (FlipPipeline, ScalingStudy) and the recording activities. No libtorch needed. */
  public static final String CONTROL = "flipflow-control";

  /** Data staging: download, decode, resize, tokenize. */
  public static final String CPU = "flipflow-cpu";

  /** Pretraining, unmasked tuning and zero-shot evaluation. */
  public static final String GPU = "flipflow-gpu";

  public static final List<String> ALL = List.of(CONTROL, CPU, GPU);

  private TaskQueues() {}
}
