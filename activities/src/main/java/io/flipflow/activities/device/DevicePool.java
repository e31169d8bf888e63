package io.flipflow.activities.device;

import ai.djl.Device;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one device of a gpu worker process: each training or evaluation activity leases it for its
 * duration and returns it when it ends, also on failure or cancellation (the {@link Lease} is
 * closed in a finally), and the gpu queue offers one activity slot.
 *
 * <p>One device per process, because two trainings in one JVM share DJL's one gradient collector
 * and libtorch's process-wide random seed: a node with N GPUs runs N worker processes, one per
 * device, and one run trains on several devices as {@code ranks} (one process each, over c10d).
 *
 * <p>What a run asks for (its spec's {@code device}): {@code cpu} runs on the CPU and takes no
 * lease; {@code cuda} takes this worker's GPU; {@code cuda:N} takes it only if it is {@code
 * cuda:N}. A GPU held by another activity fails retryably.
 */
public final class DevicePool {
  private static final Logger LOG = LoggerFactory.getLogger(DevicePool.class);

  /** Config keys, named in error messages. */
  public static final String DEVICES_KEY = "worker.devices";

  /** The removed key of in-process device groups, named when a config still sets it. */
  public static final String PER_RUN_KEY = "worker.devices.per_run";

  private final Device device;
  private boolean leased;

  private DevicePool(Device device) {
    this.device = device;
  }

  /** A CPU-only worker. */
  public static DevicePool cpu() {
    return new DevicePool(Device.cpu());
  }

  /** A worker of {@code device} (the CPU or one GPU). */
  public static DevicePool of(Device device) {
    return new DevicePool(device);
  }

  /**
   * From config values: {@code worker.devices} ({@code cpu} or one {@code cuda:N}), checked against
   * the engine; {@code worker.devices.per_run} must be unset (or 1, which changes nothing).
   */
  public static DevicePool fromConfig(String devices, String perRun) {
    if (perRun != null && !perRun.isBlank() && !perRun.trim().equals("1")) {
      throw new IllegalArgumentException(
          PER_RUN_KEY
              + ": '"
              + perRun
              + "' is no longer supported: a worker process trains on one device; to train one"
              + " run on several, set ranks in its spec and start one gpu worker per device");
    }
    List<Device> list = Devices.parseList(devices == null ? "cpu" : devices, DEVICES_KEY);
    if (list.size() != 1) {
      throw new IllegalArgumentException(
          DEVICES_KEY
              + ": '"
              + devices
              + "' lists "
              + list.size()
              + " devices, but a worker process holds one (two trainings in one JVM would share"
              + " DJL's gradient collector and the random seed); start one gpu worker per device,"
              + " e.g. FLIPFLOW_WORKER_DEVICES=cuda:1 for the second");
    }
    Devices.checkAvailable(list, DEVICES_KEY);
    return of(list.get(0));
  }

  /** Activities this worker runs at once: one. */
  public int slots() {
    return 1;
  }

  /** This worker's device. */
  public Device device() {
    return device;
  }

  /**
   * Leases what a run's {@code device} field asks for (see the class comment). Bad or impossible
   * requests are IllegalArgumentExceptions naming the field; a GPU held by another activity is an
   * IllegalStateException (retryable: the run tries again later, perhaps on another worker).
   */
  public synchronized Lease lease(String request) {
    String r = request == null ? "cpu" : request.trim();
    if (r.equals("cpu")) {
      return new Lease(Device.cpu(), false);
    }
    if (!r.equals("cuda") && !r.startsWith("cuda:")) {
      throw new IllegalArgumentException("device: '" + request + "' is not cpu, cuda or cuda:N");
    }
    if (r.contains(",")) {
      throw new IllegalArgumentException(
          "device: '"
              + request
              + "' names several devices; a run trains on one per process (set ranks to train on"
              + " several)");
    }
    if (device.equals(Device.cpu())) {
      throw new IllegalArgumentException(
          "device: the run asks for "
              + r
              + " but this worker has "
              + DEVICES_KEY
              + "=cpu; run it on a GPU worker or set device to cpu");
    }
    if (r.startsWith("cuda:") && !Devices.parse(r, "device").equals(device)) {
      throw new IllegalArgumentException(
          "device: "
              + r
              + " is not this worker's device ("
              + DEVICES_KEY
              + "="
              + Devices.name(device)
              + ")");
    }
    if (leased) {
      throw new IllegalStateException(
          "device: " + Devices.name(device) + " is leased by another activity; retry later");
    }
    leased = true;
    LOG.debug("leased {}", device);
    return new Lease(device, true);
  }

  /** Devices held by running activities now. */
  public synchronized List<Device> leased() {
    return leased ? List.of(device) : List.of();
  }

  private synchronized void release() {
    leased = false;
    LOG.debug("released {}", device);
  }

  /** The device of one activity; closing returns it to the pool (idempotent). */
  public final class Lease implements AutoCloseable {
    private final Device leasedDevice;
    private final boolean pooled;
    private boolean closed;

    private Lease(Device device, boolean pooled) {
      this.leasedDevice = device;
      this.pooled = pooled;
    }

    /** The device, as the one-element list the trainer and evaluator take. */
    public List<Device> devices() {
      return List.of(leasedDevice);
    }

    @Override
    public void close() {
      synchronized (DevicePool.this) {
        if (closed) {
          return;
        }
        closed = true;
      }
      if (pooled) {
        release();
      }
    }
  }
}
