package io.flipflow.activities.engine;

/**
 * The native methods of {@code libflipflow_torch.so}, one to one. Only {@link NativeTorch} and its
 * companions call these, after the library has been loaded.
 *
 * <p>This class must depend on nothing but the JDK: {@code build.sh} generates the C header from
 * this file alone with {@code javac -h}, and checks that every method declared here is defined in
 * the library. Tensors travel as DJL's handles (raw {@code torch::Tensor*}); every handle returned
 * is a new {@code torch::Tensor} that the caller wraps in a {@code PtNDArray} (which frees it).
 * Failures come back as {@code NativeTorchException} carrying the C++ message.
 *
 * <p>Dtype codes: 0 float32, 1 float16, 2 bfloat16, 3 float64. Device type codes: 0 cpu, 1 cuda.
 */
final class NativeTorchJni {

  private NativeTorchJni() {}

  // ---- library ----

  /** TORCH_VERSION of the headers the library was compiled against, e.g. "2.7.1". */
  static native String torchVersion();

  /** Whether the library was compiled with c10d's NCCL backend. */
  static native boolean ncclCompiled();

  /** Frees a handle that could not be handed to a manager. */
  static native void deleteTensor(long tensor);

  // ---- dtypes ----

  /** libtorch's name of the tensor's scalar type ("Float", "BFloat16", "Half", ...). */
  static native String scalarTypeName(long tensor);

  /** {@code tensor.to(dtype)}, keeping the autograd graph (DJL's casts detach). */
  static native long cast(long tensor, int dtype);

  // ---- autocast (thread-local) ----

  static native boolean autocastEnabled(int deviceType);

  static native int autocastDtype(int deviceType);

  static native boolean autocastCacheEnabled();

  /** Python's {@code autocast.__enter__}: enable, set dtype and cache, increment the nesting. */
  static native int autocastEnter(int deviceType, int dtype, boolean cacheEnabled);

  /**
   * Python's {@code autocast.__exit__}: decrement the nesting (clearing the cast cache at 0), then
   * restore the previous state. Returns the nesting after.
   */
  static native int autocastExit(
      int deviceType, boolean previousEnabled, int previousDtype, boolean previousCache);

  // ---- TF32 (process-wide) ----

  static native void setAllowTf32(boolean cublas, boolean cudnn);

  static native boolean allowTf32CuBlas();

  static native boolean allowTf32CuDnn();

  // ---- attention ----

  /**
   * {@code at::scaled_dot_product_attention(q, k, v, mask, 0.0, causal, scale)}; {@code mask} 0
   * means none, a NaN {@code scale} means 1/sqrt(head dim).
   */
  static native long scaledDotProductAttention(
      long query, long key, long value, long mask, boolean causal, double scale);

  // ---- optimizer ----

  /**
   * One AdamW update over every group. Tensors of all groups are concatenated; group g owns {@code
   * groupSizes[g]} consecutive entries. {@code gradients} null: use each parameter's own grad.
   * {@code hyper} holds 5 values per group: lr, beta1, beta2, eps, weight decay. {@code kernel}: 0
   * auto, 1 fused, 2 foreach. Returns 1 if every group ran the fused kernel, 2 if any ran foreach.
   */
  static native int adamW(
      int[] groupSizes,
      long[] parameters,
      long[] gradients,
      long[] expAvg,
      long[] expAvgSq,
      double[] hyper,
      long step,
      int kernel,
      boolean zeroGradients);

  /**
   * The global L2 norm of the parameters' gradients; when above {@code maxNorm} (and maxNorm &gt;
   * 0) every gradient is scaled by {@code maxNorm / (norm + 1e-6)}. Returns the norm before.
   */
  static native double clipGradientNorm(long[] parameters, double maxNorm);

  /**
   * Multiplies every parameter's gradient by {@code inverseScale} and returns whether any was
   * non-finite ({@code _amp_foreach_non_finite_check_and_unscale_}).
   */
  static native boolean unscaleGradients(long[] parameters, double inverseScale);

  /** An order-free checksum of the tensors' bits (4-byte types). */
  static native long bitChecksum(long[] tensors);

  /** Sets every parameter's gradient to zero. */
  static native void zeroGradients(long[] parameters);

  // ---- c10d ----

  /** A TCPStore; rank 0 serves it (port 0: any free port). Returns a native store handle. */
  static native long storeOpen(String host, int port, int rank, int worldSize, long timeoutMillis);

  static native int storePort(long store);

  static native void storeSet(long store, String key, byte[] value);

  /** Waits up to the store's timeout for the key. */
  static native byte[] storeGet(long store, String key);

  static native void storeClose(long store);

  /**
   * Waits until every rank has arrived (naming the missing ones on timeout), then builds the
   * backend (0 Gloo, 1 NCCL). {@code localAddress}: the address Gloo binds (null:
   * GLOO_SOCKET_IFNAME or the host name). Returns a native group handle.
   */
  static native long groupOpen(long store, int backend, String localAddress, long timeoutMillis);

  /** In-place sum (or mean) of the tensors (or, with fromParameters, their grads), bucketed. */
  static native void groupAllReduce(
      long group, long[] tensors, boolean fromParameters, boolean average, long bucketBytes);

  /** Every rank's tensor stacked in rank order: shape [world, ...]. */
  static native long groupAllGather(long group, long tensor);

  /** In-place broadcast from {@code root}, bucketed. */
  static native void groupBroadcast(
      long group, long[] tensors, boolean fromParameters, int root, long bucketBytes);

  static native void groupBarrier(long group);

  static native void groupClose(long group);
}
