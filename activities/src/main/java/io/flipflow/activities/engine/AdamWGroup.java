package io.flipflow.activities.engine;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * One parameter group of {@link NativeTorch#adamW}: its tensors (parameters, first and second
 * moments of the same shapes; gradients, or null to use each parameter's own gradient) and its
 * hyper-parameters. flipflow uses two: decayed matrices and non-decayed others.
 */
public record AdamWGroup(
    List<NDArray> parameters,
    List<NDArray> gradients,
    List<NDArray> expAvg,
    List<NDArray> expAvgSq,
    double learningRate,
    double beta1,
    double beta2,
    double epsilon,
    double weightDecay) {

  public AdamWGroup {
    parameters = List.copyOf(parameters);
    gradients = gradients == null ? null : List.copyOf(gradients);
    expAvg = List.copyOf(expAvg);
    expAvgSq = List.copyOf(expAvgSq);
    int n = parameters.size();
    if ((gradients != null && gradients.size() != n)
        || expAvg.size() != n
        || expAvgSq.size() != n) {
      throw new IllegalArgumentException(
          "AdamW group: parameters, gradients and moments must have the same count");
    }
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(epsilon >= 0)) {
      throw new IllegalArgumentException(
          "AdamW group: betas in [0, 1) and eps >= 0 expected, got "
              + beta1
              + ", "
              + beta2
              + ", "
              + epsilon);
    }
  }

  /** A group updating each parameter from its own gradient. */
  public static AdamWGroup ofParameters(
      List<NDArray> parameters,
      List<NDArray> expAvg,
      List<NDArray> expAvgSq,
      double learningRate,
      double beta1,
      double beta2,
      double epsilon,
      double weightDecay) {
    return new AdamWGroup(
        parameters, null, expAvg, expAvgSq, learningRate, beta1, beta2, epsilon, weightDecay);
  }
}
