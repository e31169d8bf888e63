package io.flipflow.activities.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.List;

/**
 * A c10d process group over all ranks of a job (Gloo on CPU tensors, NCCL on CUDA ones), made by
 * {@link TcpStore#processGroup}. Collectives block until done and run on every rank in the same
 * order; a timeout or a peer gone fails them with a {@link NativeTorchException} naming the rank.
 * Tensors are updated in place; none of them may be in use elsewhere meanwhile.
 */
public final class ProcessGroup implements AutoCloseable {

  /** The c10d backend. */
  public enum Backend {
    GLOO,
    NCCL
  }

  private final Backend backend;
  private final int rank;
  private final int worldSize;
  private long handle;

  ProcessGroup(long handle, Backend backend, int rank, int worldSize) {
    this.handle = handle;
    this.backend = backend;
    this.rank = rank;
    this.worldSize = worldSize;
  }

  public Backend backend() {
    return backend;
  }

  public int rank() {
    return rank;
  }

  public int worldSize() {
    return worldSize;
  }

  /** Sums the tensors across ranks in place, in buckets of up to 25 MiB. */
  public void allReduce(List<NDArray> tensors) {
    allReduce(tensors, false);
  }

  /** Sums (or, with {@code average}, averages) the tensors across ranks in place, bucketed. */
  public synchronized void allReduce(List<NDArray> tensors, boolean average) {
    NativeTorchJni.groupAllReduce(
        open(), NativeTorch.handles(tensors), false, average, NativeTorch.DEFAULT_BUCKET_BYTES);
  }

  /** All-reduces the parameters' own gradients in place (no Java handle per gradient), bucketed. */
  public synchronized void allReduceGradients(List<NDArray> parameters, boolean average) {
    NativeTorchJni.groupAllReduce(
        open(), NativeTorch.handles(parameters), true, average, NativeTorch.DEFAULT_BUCKET_BYTES);
  }

  /**
   * Every rank's {@code tensor} (same shape on every rank), stacked in rank order: shape {@code
   * [worldSize, ...tensor's shape]}, owned by {@code manager}. Not differentiable.
   */
  public synchronized NDArray allGather(NDArray tensor, NDManager manager) {
    var m = NativeTorch.manager(manager);
    return NativeTorch.wrap(m, NativeTorchJni.groupAllGather(open(), NativeTorch.handle(tensor)));
  }

  /** Overwrites the tensors on every rank with rank {@code root}'s, in place, bucketed. */
  public synchronized void broadcast(List<NDArray> tensors, int root) {
    NativeTorchJni.groupBroadcast(
        open(), NativeTorch.handles(tensors), false, root, NativeTorch.DEFAULT_BUCKET_BYTES);
  }

  /** Returns once every rank has called it. */
  public synchronized void barrier() {
    NativeTorchJni.groupBarrier(open());
  }

  private long open() {
    if (handle == 0) {
      throw new IllegalStateException("the process group is closed");
    }
    return handle;
  }

  /** Shuts the backend down (NCCL destroys its communicators) and frees it. */
  @Override
  public synchronized void close() {
    if (handle != 0) {
      long h = handle;
      handle = 0;
      NativeTorchJni.groupClose(h);
    }
  }
}
