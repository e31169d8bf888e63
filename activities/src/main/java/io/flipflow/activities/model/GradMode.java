package io.flipflow.activities.model;

import ai.djl.pytorch.jni.JniUtils;

/**
 * PyTorch's autograd switch is per thread and starts ON in a new thread; DJL turns it off only on
 * the thread that loads the engine. A GradientCollector restores whatever it found, so on any other
 * thread (a Temporal activity retried on a fresh executor thread) the optimizer's in-place update
 * would then run with recording on and fail ("a leaf Variable that requires grad is being used in
 * an in-place operation"), and inference would build graphs for nothing. Every entry point that
 * trains or evaluates calls this first.
 */
public final class GradMode {
  private GradMode() {}

  public static void offOnThisThread() {
    JniUtils.setGradMode(false);
  }
}
