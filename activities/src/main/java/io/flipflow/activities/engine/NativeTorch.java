package io.flipflow.activities.engine;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The entry to {@code libflipflow_torch.so}: libtorch features DJL 0.36 does not expose, on DJL's
 * own tensors. Autocast and TF32, autograd-keeping casts (bfloat16 included), fused attention, a
 * multi-tensor AdamW step, and c10d ({@link #rendezvous}).
 *
 * <p>The library is found at the system property {@value #LIBRARY_PROPERTY}, else at {@value
 * #RELATIVE_PATH} under the {@code flipflow.home} property or under the working directory or one of
 * its parents. It is loaded after DJL's PyTorch engine has started, because it links the very
 * libtorch DJL loaded, and refused when it was compiled against another torch version. Where it is
 * missing, {@link #isAvailable()} is false, the reason is logged once, and callers fall back (fp32,
 * explicit attention, one process); every other method then throws {@link IllegalStateException}
 * with that reason.
 *
 * <p>Memory: every tensor returned is a new {@link PtNDArray} attached to the manager passed (or to
 * the first input's manager); the native side keeps nothing per call.
 *
 * <p>Over 350 lines: it is the one Java face of the JNI library (loading, version check, and a
 * checked wrapper per native call), mostly argument checks and documentation.
 */
public final class NativeTorch {

  /** System property naming the library file. */
  public static final String LIBRARY_PROPERTY = "flipflow.native.lib";

  /** Where {@code build.sh} writes the library, relative to the project directory. */
  public static final String RELATIVE_PATH = "activities/target/native/libflipflow_torch.so";

  /** DDP's default bucket size for bucketed collectives. */
  public static final long DEFAULT_BUCKET_BYTES = 25L << 20;

  private static final Logger log = LoggerFactory.getLogger(NativeTorch.class);
  private static final AtomicBoolean logged = new AtomicBoolean();

  private NativeTorch() {}

  /** Loaded once, on first use. */
  private static final class Loaded {
    static Path path;
    static final String REASON = load();
  }

  private static String load() {
    Engine engine;
    try {
      engine = Engine.getEngine("PyTorch");
    } catch (RuntimeException | LinkageError e) {
      return "DJL's PyTorch engine did not start, so its libtorch cannot be extended: " + e;
    }
    List<Path> tried = new ArrayList<>();
    Path lib = locate(tried);
    if (lib == null) {
      return "libflipflow_torch.so is not built (looked at "
          + String.join(", ", tried.stream().map(Path::toString).toList())
          + "); build it with `bash activities/src/main/native/build.sh` (needs g++, the torch "
          + engine.getVersion()
          + " headers of bench/openclip/.venv and libgloo-dev)";
    }
    try {
      System.load(lib.toString());
    } catch (UnsatisfiedLinkError e) {
      return "cannot load " + lib + ": " + e.getMessage();
    }
    String built;
    try {
      built = NativeTorchJni.torchVersion();
    } catch (UnsatisfiedLinkError e) {
      return lib + " is not flipflow's native library: " + e.getMessage();
    }
    String running = engine.getVersion();
    if (!running.equals(built) && !running.startsWith(built + "-")) {
      return lib
          + " was compiled against torch "
          + built
          + " but DJL runs libtorch "
          + running
          + "; rebuild it with build.sh against this libtorch";
    }
    Loaded.path = lib;
    return null;
  }

  private static Path locate(List<Path> tried) {
    String property = System.getProperty(LIBRARY_PROPERTY);
    if (property != null && !property.isBlank()) {
      Path p = Path.of(property).toAbsolutePath().normalize();
      tried.add(p);
      return Files.isRegularFile(p) ? p : null; // named explicitly: no search elsewhere
    }
    List<Path> roots = new ArrayList<>();
    String home = System.getProperty("flipflow.home");
    if (home != null && !home.isBlank()) {
      roots.add(Path.of(home));
    }
    for (Path d = Path.of(System.getProperty("user.dir")).toAbsolutePath().normalize();
        d != null;
        d = d.getParent()) {
      roots.add(d);
    }
    for (Path root : roots) {
      Path p = root.toAbsolutePath().normalize().resolve(RELATIVE_PATH);
      tried.add(p);
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    return null;
  }

  private static String reason() {
    String reason = Loaded.REASON;
    if (reason != null && logged.compareAndSet(false, true)) {
      log.warn(
          "native torch extension unavailable; training runs without it (fp32, explicit"
              + " attention, one process): {}",
          reason);
    }
    return reason;
  }

  /** Whether the extension is loaded and usable. */
  public static boolean isAvailable() {
    return reason() == null;
  }

  /** Why the extension is unavailable; null when it is available. */
  public static String unavailableReason() {
    return reason();
  }

  /** Throws {@link IllegalStateException} naming why, unless the extension is available. */
  public static void requireAvailable() {
    String reason = reason();
    if (reason != null) {
      throw new IllegalStateException("native torch extension unavailable: " + reason);
    }
  }

  /** The library file loaded. */
  public static Path libraryPath() {
    requireAvailable();
    return Loaded.path;
  }

  /** The torch version the library was compiled against (equal to DJL's). */
  public static String torchVersion() {
    requireAvailable();
    return NativeTorchJni.torchVersion();
  }

  /** Whether this build has c10d's NCCL backend (only against a CUDA libtorch). */
  public static boolean ncclCompiled() {
    requireAvailable();
    return NativeTorchJni.ncclCompiled();
  }

  // ---- dtypes ----

  /** Floating-point types the extension casts to and runs autocast in. */
  public enum Dtype {
    FLOAT32(0),
    FLOAT16(1),
    BFLOAT16(2),
    FLOAT64(3);

    final int code;

    Dtype(int code) {
      this.code = code;
    }

    static Dtype ofCode(int code) {
      for (Dtype d : values()) {
        if (d.code == code) {
          return d;
        }
      }
      return null;
    }
  }

  /**
   * libtorch's name of the array's scalar type: {@code Float}, {@code BFloat16}, {@code Half}...
   * (DJL 0.36 reads a bfloat16 tensor's type as {@code COMPLEX64}; this is the truth).
   */
  public static String scalarTypeName(NDArray array) {
    requireAvailable();
    return NativeTorchJni.scalarTypeName(handle(array));
  }

  /**
   * {@code array.to(dtype)} keeping the autograd graph (DJL's {@code toType} detaches), in the
   * array's manager. Use it to bring an autocast output back to float32 before a loss.
   */
  public static NDArray cast(NDArray array, Dtype dtype) {
    requireAvailable();
    return wrap(manager(array.getManager()), NativeTorchJni.cast(handle(array), dtype.code));
  }

  // ---- autocast ----

  /**
   * Enters an autocast region for the current thread, as Python's {@code torch.autocast(device,
   * dtype)} does: matrix products and attention on that device type run in {@code dtype} (bfloat16
   * or float16), numerically sensitive ops in float32, weights stay float32. Close it on the same
   * thread, before the backward pass (as in Python); regions nest.
   */
  public static Autocast autocast(Device device, Dtype dtype) {
    requireAvailable();
    if (dtype != Dtype.BFLOAT16 && dtype != Dtype.FLOAT16) {
      throw new IllegalArgumentException("autocast runs in bfloat16 or float16, not " + dtype);
    }
    return new Autocast(deviceType(device), dtype);
  }

  /** Whether autocast is on for this thread and device type. */
  public static boolean isAutocastEnabled(Device device) {
    requireAvailable();
    return NativeTorchJni.autocastEnabled(deviceType(device));
  }

  /** This thread's autocast dtype for the device type (what a region would run in). */
  public static Dtype autocastDtype(Device device) {
    requireAvailable();
    return Dtype.ofCode(NativeTorchJni.autocastDtype(deviceType(device)));
  }

  /** An autocast region of one thread; {@link #close()} restores the state before it. */
  public static final class Autocast implements AutoCloseable {
    private final int deviceType;
    private final Thread owner = Thread.currentThread();
    private final boolean previousEnabled;
    private final int previousDtype;
    private final boolean previousCache;
    private final int nesting;
    private boolean closed;

    private Autocast(int deviceType, Dtype dtype) {
      this.deviceType = deviceType;
      this.previousEnabled = NativeTorchJni.autocastEnabled(deviceType);
      this.previousDtype = NativeTorchJni.autocastDtype(deviceType);
      this.previousCache = NativeTorchJni.autocastCacheEnabled();
      this.nesting = NativeTorchJni.autocastEnter(deviceType, dtype.code, true);
    }

    /** The autocast nesting depth this region entered at (1 for the outermost). */
    public int nesting() {
      return nesting;
    }

    /** Leaves the region: decrements the nesting, clears the cast cache at 0, restores. */
    @Override
    public void close() {
      if (closed) {
        return;
      }
      if (Thread.currentThread() != owner) {
        throw new IllegalStateException(
            "autocast is thread-local: close it on " + owner.getName() + ", which opened it");
      }
      closed = true;
      NativeTorchJni.autocastExit(deviceType, previousEnabled, previousDtype, previousCache);
    }
  }

  // ---- TF32 ----

  /**
   * The TF32 switch for cuBLAS matrix products and cuDNN convolutions (process-wide, as {@code
   * torch.backends.cuda.matmul.allow_tf32} and {@code torch.backends.cudnn.allow_tf32}). Only CUDA
   * kernels read it.
   */
  public static void setAllowTf32(boolean cublas, boolean cudnn) {
    requireAvailable();
    NativeTorchJni.setAllowTf32(cublas, cudnn);
  }

  /** Whether cuBLAS may use TF32. */
  public static boolean allowTf32CuBlas() {
    requireAvailable();
    return NativeTorchJni.allowTf32CuBlas();
  }

  /** Whether cuDNN may use TF32. */
  public static boolean allowTf32CuDnn() {
    requireAvailable();
    return NativeTorchJni.allowTf32CuDnn();
  }

  // ---- attention ----

  /**
   * {@code softmax(q k^T / sqrt(d) [+ causal mask]) v} as libtorch's fused {@code
   * scaled_dot_product_attention}, on {@code [..., L, d]} tensors; differentiable through DJL's
   * {@code GradientCollector} into q, k and v. The result lives in q's manager.
   */
  public static NDArray scaledDotProductAttention(
      NDArray query, NDArray key, NDArray value, boolean causal) {
    return scaledDotProductAttention(query, key, value, null, causal, query.getManager());
  }

  /**
   * As {@link #scaledDotProductAttention(NDArray, NDArray, NDArray, boolean)} with an optional mask
   * (boolean: true attends; floating: added to the scores), the result in {@code manager}.
   */
  public static NDArray scaledDotProductAttention(
      NDArray query, NDArray key, NDArray value, NDArray mask, boolean causal, NDManager manager) {
    requireAvailable();
    PtNDManager m = manager(manager);
    return wrap(
        m,
        NativeTorchJni.scaledDotProductAttention(
            handle(query),
            handle(key),
            handle(value),
            mask == null ? 0 : handle(mask),
            causal,
            Double.NaN));
  }

  // ---- optimizer ----

  /** Which kernel {@link #adamW} runs. */
  public enum AdamWKernel {
    /** {@code _fused_adamw_} where a group is on one CPU or CUDA device in one dtype. */
    AUTO,
    /** {@code _fused_adamw_}, or fail. */
    FUSED,
    /** The {@code _foreach_} ops (textbook AdamW, as torch.optim.AdamW's foreach path). */
    FOREACH
  }

  /**
   * One AdamW update (decoupled weight decay, bias-corrected moments, as {@code torch.optim.AdamW})
   * over every group in one native call; parameters and moments are updated in place. {@code step}
   * is this update's number t, from 1.
   *
   * @return {@link AdamWKernel#FUSED} if every group ran the fused kernel, else {@link
   *     AdamWKernel#FOREACH}
   */
  public static AdamWKernel adamW(
      List<AdamWGroup> groups, long step, AdamWKernel kernel, boolean zeroGradients) {
    requireAvailable();
    int total = 0;
    boolean ownGradients = true;
    for (AdamWGroup g : groups) {
      total += g.parameters().size();
      if (g.gradients() != null) {
        ownGradients = false;
      }
    }
    for (AdamWGroup g : groups) {
      if ((g.gradients() == null) != ownGradients) {
        throw new IllegalArgumentException(
            "AdamW: give gradients for every group or for none (then each parameter's own)");
      }
    }
    int[] sizes = new int[groups.size()];
    long[] params = new long[total];
    long[] grads = ownGradients ? null : new long[total];
    long[] m = new long[total];
    long[] v = new long[total];
    double[] hyper = new double[5 * groups.size()];
    int i = 0;
    for (int gi = 0; gi < groups.size(); gi++) {
      AdamWGroup g = groups.get(gi);
      sizes[gi] = g.parameters().size();
      hyper[5 * gi] = g.learningRate();
      hyper[5 * gi + 1] = g.beta1();
      hyper[5 * gi + 2] = g.beta2();
      hyper[5 * gi + 3] = g.epsilon();
      hyper[5 * gi + 4] = g.weightDecay();
      for (int j = 0; j < sizes[gi]; j++, i++) {
        params[i] = handle(g.parameters().get(j));
        if (grads != null) {
          grads[i] = handle(g.gradients().get(j));
        }
        m[i] = handle(g.expAvg().get(j));
        v[i] = handle(g.expAvgSq().get(j));
      }
    }
    int used =
        NativeTorchJni.adamW(
            sizes, params, grads, m, v, hyper, step, kernel.ordinal(), zeroGradients);
    return used == 1 ? AdamWKernel.FUSED : AdamWKernel.FOREACH;
  }

  /**
   * The global L2 norm of the parameters' gradients; when it exceeds {@code maxNorm} (&gt; 0),
   * every gradient is scaled by {@code maxNorm / (norm + 1e-6)}, in one native call.
   *
   * @return the norm before clipping
   */
  public static double clipGradientNorm(List<NDArray> parameters, double maxNorm) {
    requireAvailable();
    return NativeTorchJni.clipGradientNorm(handles(parameters), maxNorm);
  }

  /**
   * For fp16 loss scaling: multiplies every parameter's gradient by {@code inverseScale} and
   * returns whether any gradient held an inf or NaN (then skip the step and lower the scale).
   */
  public static boolean unscaleGradients(List<NDArray> parameters, double inverseScale) {
    requireAvailable();
    return NativeTorchJni.unscaleGradients(handles(parameters), inverseScale);
  }

  /** Sets every parameter's gradient to zero (after a skipped fp16 step), in one native call. */
  public static void zeroGradients(List<NDArray> parameters) {
    requireAvailable();
    NativeTorchJni.zeroGradients(handles(parameters));
  }

  /**
   * A checksum of the tensors' exact bits (float32 or int32), the same whatever the thread count:
   * integer sums of the bit patterns, weighted by position. Equal tensors give equal sums; for
   * comparing the weights of data-parallel ranks.
   */
  public static long bitChecksum(List<NDArray> tensors) {
    requireAvailable();
    return NativeTorchJni.bitChecksum(handles(tensors));
  }

  // ---- c10d ----

  /**
   * Opens the rendezvous store of a {@code worldSize}-rank job: rank 0 serves a c10d TCPStore on
   * {@code port} (0: any free port, see {@link TcpStore#port()}) and returns at once; the other
   * ranks connect to {@code host:port}, retrying up to {@code timeout}. Make process groups on it
   * with {@link TcpStore#processGroup}.
   */
  public static TcpStore rendezvous(
      String host, int port, int rank, int worldSize, Duration timeout) {
    requireAvailable();
    if (worldSize < 1 || rank < 0 || rank >= worldSize) {
      throw new IllegalArgumentException("rank " + rank + " outside world size " + worldSize);
    }
    long handle = NativeTorchJni.storeOpen(host, port, rank, worldSize, timeout.toMillis());
    return new TcpStore(handle, host, rank, worldSize, timeout);
  }

  // ---- handles ----

  static long handle(NDArray array) {
    if (!(array instanceof PtNDArray pt)) {
      throw new IllegalArgumentException(
          "not a PyTorch engine NDArray: " + (array == null ? "null" : array.getClass().getName()));
    }
    return pt.getHandle();
  }

  static long[] handles(List<NDArray> arrays) {
    long[] out = new long[arrays.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = handle(arrays.get(i));
    }
    return out;
  }

  static PtNDManager manager(NDManager manager) {
    if (!(manager instanceof PtNDManager pt)) {
      throw new IllegalArgumentException(
          "not a PyTorch engine NDManager: "
              + (manager == null ? "null" : manager.getClass().getName()));
    }
    if (!pt.isOpen()) {
      throw new IllegalStateException("the NDManager to own the result is closed");
    }
    return pt;
  }

  /** Hands a new native tensor to the manager (which frees it), or frees it if that fails. */
  static NDArray wrap(PtNDManager manager, long handle) {
    try {
      return new PtNDArray(manager, handle);
    } catch (RuntimeException e) {
      NativeTorchJni.deleteTensor(handle);
      throw e;
    }
  }

  static int deviceType(Device device) {
    String type = device.getDeviceType().toLowerCase(Locale.ROOT);
    return switch (type) {
      case Device.Type.CPU -> 0;
      case Device.Type.GPU, "cuda" -> 1;
      default -> throw new IllegalArgumentException("no autocast for device type " + type);
    };
  }
}
