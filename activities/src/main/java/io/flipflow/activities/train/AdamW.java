package io.flipflow.activities.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.ParameterList;
import ai.djl.util.Pair;
import io.flipflow.activities.engine.AdamWGroup;
import io.flipflow.activities.engine.NativeTorch;
import io.flipflow.workflows.plan.TrainConfig;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW (decoupled weight decay) with OpenCLIP's and FLIP's parameter groups: decay for every
 * tensor of two or more dimensions (weight matrices, conv kernels, the token and learned position
 * embeddings); none for biases, norm gains and shifts, the class token and the logit scale.
 *
 * <p>Written here instead of DJL's {@code Optimizer.adamW()} for two reasons: DJL applies one
 * weight decay to every parameter (no groups), and its moment estimates are private, so they could
 * not be saved in a checkpoint for an exact resume.
 *
 * <p>Two kernels compute the same update (to float rounding: {@code AdamWKernelTest}): where
 * flipflow's native extension is loaded, one native call updates every tensor (libtorch's {@code
 * _fused_adamw_}, as {@code torch.optim.AdamW(fused=True)}); elsewhere one DJL Adam call per
 * tensor.
 */
public final class AdamW {

  /** How an update reaches libtorch. */
  public enum Kernel {
    /** One DJL {@code adamUpdate} call per tensor (always available). */
    PER_TENSOR,
    /** One call of the native extension for all tensors ({@link NativeTorch#adamW}). */
    MULTI_TENSOR;

    /** The multi-tensor kernel where the native extension is loaded, else per tensor. */
    public static Kernel best() {
      return NativeTorch.isAvailable() ? MULTI_TENSOR : PER_TENSOR;
    }
  }

  private static final int FORMAT = 1;

  private final double beta1;
  private final double beta2;
  private final double epsilon;
  private final double weightDecay;
  private final double gradClipNorm;
  private final NDManager stateManager;
  private final Kernel kernel;
  private final Map<String, NDArray[]> moments = new LinkedHashMap<>();
  private long updates;

  /**
   * Moment estimates live in {@code stateManager} (a sub-manager of the model's); the best kernel
   * available.
   */
  public AdamW(TrainConfig config, NDManager stateManager) {
    this(config, stateManager, Kernel.best());
  }

  /** As {@link #AdamW(TrainConfig, NDManager)} with the given kernel. */
  public AdamW(TrainConfig config, NDManager stateManager, Kernel kernel) {
    if (kernel == Kernel.MULTI_TENSOR) {
      NativeTorch.requireAvailable();
    }
    this.kernel = kernel;
    this.beta1 = config.beta1();
    this.beta2 = config.beta2();
    this.epsilon = config.epsilon();
    this.weightDecay = config.weightDecay();
    this.gradClipNorm = config.gradClipNorm();
    this.stateManager = stateManager;
  }

  /** Whether weight decay applies: OpenCLIP's rule, {@code p.ndim >= 2}. */
  public static boolean decays(Parameter parameter) {
    Shape shape = parameter.getArray().getShape();
    return shape.dimension() >= 2;
  }

  /** The kernel the updates run with. */
  public Kernel kernel() {
    return kernel;
  }

  /** Updates done so far (t in the bias corrections). */
  public long updates() {
    return updates;
  }

  /**
   * One update from the accumulated gradients, which are then zeroed. Temporaries live in a
   * sub-manager of {@code stepManager}; parameters and moments are attached to it only for the
   * duration (so ops with them on the left do not leak into the model's manager). Call it after the
   * {@code GradientCollector} is closed: PyTorch refuses in-place updates of leaves in grad mode.
   *
   * <p>Each parameter's step is one call into DJL's native Adam update (about ten tensor operations
   * in C++ instead of as many JNI calls from here; tiny-emoji at batch 128: 80-85 ms per step
   * before, 27-45 ms after). That update divides by {@code sqrt(v) + eps} and scales by a single
   * learning rate, so the bias corrections are folded in: with {@code lr' = lr * sqrt(c2) / c1} and
   * {@code eps' = eps * sqrt(c2)} its step {@code lr' * m / (sqrt(v) + eps')} equals PyTorch's
   * {@code lr * (m / c1) / (sqrt(v / c2) + eps)}. Its decoupled decay {@code w -= lr * wd * w} uses
   * the weight before the step, as {@code torch.optim.AdamW} does. Clipping scales every gradient
   * by {@code clip / norm} when the global norm exceeds the configured clip.
   */
  public void update(ParameterList parameters, double learningRate, NDManager stepManager) {
    for (Pair<String, Parameter> p : parameters) {
      moments.computeIfAbsent(
          p.getKey(),
          k -> {
            NDArray w = p.getValue().getArray();
            return new NDArray[] {
              stateManager.zeros(w.getShape()), stateManager.zeros(w.getShape())
            };
          });
    }
    updates++;
    if (kernel == Kernel.MULTI_TENSOR) {
      updateInOneCall(parameters, learningRate);
      return;
    }
    double correction1 = 1 - Math.pow(beta1, updates);
    double correction2 = 1 - Math.pow(beta2, updates);
    float correctedRate = (float) (learningRate * Math.sqrt(correction2) / correction1);
    float correctedEpsilon = (float) (epsilon * Math.sqrt(correction2));
    try (NDManager scope = stepManager.newSubManager()) {
      NDList norms = new NDList();
      for (Pair<String, Parameter> p : parameters) {
        NDArray[] mv = moments.get(p.getKey());
        scope.tempAttachAll(p.getValue().getArray(), mv[0], mv[1]);
        if (gradClipNorm > 0) {
          norms.add(p.getValue().getArray().getGradient().norm());
        }
      }
      float clipScale = 1f;
      if (gradClipNorm > 0) { // the global norm costs a pass over every gradient: only if used
        float norm = NDArrays.stack(norms).norm().getFloat();
        clipScale = norm > gradClipNorm ? (float) (gradClipNorm / (norm + 1e-6)) : 1f;
      }

      for (Pair<String, Parameter> p : parameters) {
        NDArray w = p.getValue().getArray();
        NDArray[] mv = moments.get(p.getKey());
        float decay = weightDecay > 0 && decays(p.getValue()) ? (float) weightDecay : 0f;
        // inputs (weight, gradient, m, v) are updated in place; the gradient is zeroed after
        w.getNDArrayInternal()
            .adamUpdate(
                new NDList(w, w.getGradient(), mv[0], mv[1]),
                new NDList(w),
                (float) learningRate,
                correctedRate,
                decay,
                clipScale,
                -1f, // no element-wise clipping: the global norm clip above is CLIP's
                (float) beta1,
                (float) beta2,
                correctedEpsilon,
                false,
                true);
      }
    }
  }

  /**
   * The same update as one native call: the global-norm clip, then AdamW over two groups (decayed,
   * not decayed) with torch's own bias corrections; gradients are zeroed in the same call.
   */
  private void updateInOneCall(ParameterList parameters, double learningRate) {
    List<NDArray> all = new ArrayList<>();
    List<List<NDArray>> decayed = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
    List<List<NDArray>> plain = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
    for (Pair<String, Parameter> p : parameters) {
      NDArray w = p.getValue().getArray();
      NDArray[] mv = moments.get(p.getKey());
      List<List<NDArray>> group = weightDecay > 0 && decays(p.getValue()) ? decayed : plain;
      group.get(0).add(w);
      group.get(1).add(mv[0]);
      group.get(2).add(mv[1]);
      all.add(w);
    }
    if (gradClipNorm > 0) {
      NativeTorch.clipGradientNorm(all, gradClipNorm);
    }
    NativeTorch.adamW(
        List.of(group(decayed, learningRate, weightDecay), group(plain, learningRate, 0)),
        updates,
        NativeTorch.AdamWKernel.AUTO,
        true);
  }

  private AdamWGroup group(List<List<NDArray>> tensors, double learningRate, double decay) {
    return AdamWGroup.ofParameters(
        tensors.get(0), tensors.get(1), tensors.get(2), learningRate, beta1, beta2, epsilon, decay);
  }

  /** Writes t and every parameter's (m, v), keyed by parameter name. */
  public void save(DataOutputStream out) throws IOException {
    out.writeInt(FORMAT);
    out.writeLong(updates);
    out.writeInt(moments.size());
    for (Map.Entry<String, NDArray[]> e : moments.entrySet()) {
      out.writeUTF(e.getKey());
      for (NDArray a : e.getValue()) {
        byte[] bytes = a.encode();
        out.writeInt(bytes.length);
        out.write(bytes);
      }
    }
  }

  /** Reads what {@link #save} wrote, replacing the current state. */
  public void load(DataInputStream in, ParameterList parameters) throws IOException {
    load(in, parameters, name -> false);
  }

  /**
   * As {@link #load(DataInputStream, ParameterList)}, skipping the state of parameters that are not
   * in {@code parameters} and that {@code leaveBehind} accepts; any other unknown one is an error.
   */
  public void load(
      DataInputStream in,
      ParameterList parameters,
      java.util.function.Predicate<String> leaveBehind)
      throws IOException {
    int format = in.readInt();
    if (format != FORMAT) {
      throw new IllegalArgumentException("optimizer state: unknown format " + format);
    }
    updates = in.readLong();
    int count = in.readInt();
    for (NDArray[] mv : moments.values()) {
      mv[0].close();
      mv[1].close();
    }
    moments.clear();
    for (int i = 0; i < count; i++) {
      String name = in.readUTF();
      boolean skip = !parameters.contains(name) && leaveBehind.test(name);
      if (!parameters.contains(name) && !skip) {
        throw new IllegalArgumentException("optimizer state: unknown parameter " + name);
      }
      if (skip) {
        for (int j = 0; j < 2; j++) {
          in.skipNBytes(in.readInt());
        }
        continue;
      }
      NDArray[] mv = new NDArray[2];
      for (int j = 0; j < 2; j++) {
        byte[] bytes = new byte[in.readInt()];
        in.readFully(bytes);
        mv[j] = NDArray.decode(stateManager, bytes);
      }
      moments.put(name, mv);
    }
  }
}
