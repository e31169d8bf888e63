package io.flipflow.activities.engine;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A c10d TCPStore: the rendezvous of one job's ranks (rank 0 serves it). Made by {@link
 * NativeTorch#rendezvous}; holds process groups made on it and small key-value records (e.g. a
 * checkpoint id everyone resumes from). Closing it on rank 0 stops the server: close process groups
 * first, and close rank 0's store last.
 */
public final class TcpStore implements AutoCloseable {

  private final String host;
  private final int rank;
  private final int worldSize;
  private final Duration timeout;
  private long handle;

  TcpStore(long handle, String host, int rank, int worldSize, Duration timeout) {
    this.handle = handle;
    this.host = host;
    this.rank = rank;
    this.worldSize = worldSize;
    this.timeout = timeout;
  }

  public String host() {
    return host;
  }

  /** The port served (on rank 0 after asking for port 0: the one bound). */
  public synchronized int port() {
    return NativeTorchJni.storePort(open());
  }

  public int rank() {
    return rank;
  }

  public int worldSize() {
    return worldSize;
  }

  public Duration timeout() {
    return timeout;
  }

  /** Sets a key for every rank to read. */
  public synchronized void set(String key, byte[] value) {
    NativeTorchJni.storeSet(open(), key, value);
  }

  public void set(String key, String value) {
    set(key, value.getBytes(StandardCharsets.UTF_8));
  }

  /** The key's value, waiting up to the store's timeout for some rank to set it. */
  public synchronized byte[] get(String key) {
    return NativeTorchJni.storeGet(open(), key);
  }

  public String getString(String key) {
    return new String(get(key), StandardCharsets.UTF_8);
  }

  /**
   * A process group of all ranks: waits until every rank has called this (on timeout failing with
   * the ranks that never arrived), then connects the backend. Every rank must make its groups in
   * the same order.
   *
   * @param localAddress the address this rank's Gloo binds and advertises (null: the interface of
   *     GLOO_SOCKET_IFNAME, else the host name's address); ignored by NCCL
   */
  public synchronized ProcessGroup processGroup(ProcessGroup.Backend backend, String localAddress) {
    if (backend == ProcessGroup.Backend.NCCL && !NativeTorchJni.ncclCompiled()) {
      throw new UnsupportedOperationException(
          "NCCL is not compiled into "
              + NativeTorch.libraryPath()
              + " (built against a CPU libtorch); rebuild build.sh against a CUDA libtorch with"
              + " NCCL headers, or use Gloo");
    }
    long g = NativeTorchJni.groupOpen(open(), backend.ordinal(), localAddress, timeout.toMillis());
    return new ProcessGroup(g, backend, rank, worldSize);
  }

  private long open() {
    if (handle == 0) {
      throw new IllegalStateException("the store is closed");
    }
    return handle;
  }

  @Override
  public synchronized void close() {
    if (handle != 0) {
      long h = handle;
      handle = 0;
      NativeTorchJni.storeClose(h);
    }
  }
}
