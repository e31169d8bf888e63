package io.flipflow.activities.device;

import ai.djl.Device;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The devices of one worker, cut into groups of {@code perRun} devices; each training or evaluation
 * activity leases one group for its duration and returns it when it ends, also on failure or
 * cancellation (the {@link Lease} is closed in a finally). The gpu queue offers one activity slot
 * per group, so a run asking for "any GPU" always finds a free group.
 *
 * <p>What a run asks for (its spec's {@code device}): {@code cpu} runs on the CPU and takes no
 * group; {@code cuda} takes any free group; {@code cuda:N} or {@code cuda:N,M} takes exactly those
 * devices of this worker, and fails retryably while another run holds them.
 */
public final class DevicePool {
  private static final Logger LOG = LoggerFactory.getLogger(DevicePool.class);

  /** Config keys, named in error messages. */
  public static final String DEVICES_KEY = "worker.devices";

  public static final String PER_RUN_KEY = "worker.devices.per_run";

  private final List<List<Device>> groups;
  private final List<Device> leased = new ArrayList<>();

  private DevicePool(List<List<Device>> groups) {
    this.groups = groups;
  }

  /** A CPU-only worker: one group, the CPU. */
  public static DevicePool cpu() {
    return new DevicePool(List.of(List.of(Device.cpu())));
  }

  /**
   * Groups consecutive devices of {@code devices} by {@code perRun}: {@code cuda:0..3} with 2 per
   * run gives {cuda:0, cuda:1} and {cuda:2, cuda:3}. The count must divide evenly; a CPU worker has
   * the CPU alone and a per-run count of 1.
   */
  public static DevicePool of(List<Device> devices, int perRun) {
    if (devices.isEmpty()) {
      throw new IllegalArgumentException(DEVICES_KEY + ": no device given");
    }
    if (perRun < 1 || devices.size() % perRun != 0) {
      throw new IllegalArgumentException(
          PER_RUN_KEY
              + ": "
              + perRun
              + " must be at least 1 and divide the "
              + devices.size()
              + " device(s) of "
              + DEVICES_KEY);
    }
    if (devices.contains(Device.cpu()) && devices.size() > 1) {
      throw new IllegalArgumentException(
          DEVICES_KEY + ": cpu cannot be mixed with GPUs; write cpu or cuda:0,cuda:1,...");
    }
    List<List<Device>> groups = new ArrayList<>();
    for (int i = 0; i < devices.size(); i += perRun) {
      groups.add(List.copyOf(devices.subList(i, i + perRun)));
    }
    return new DevicePool(List.copyOf(groups));
  }

  /**
   * From config values: {@code worker.devices} ({@code cpu} or {@code cuda:0,cuda:1,...}) and
   * {@code worker.devices.per_run} (null for 1). GPUs are checked against the engine.
   */
  public static DevicePool fromConfig(String devices, String perRun) {
    List<Device> list = Devices.parseList(devices == null ? "cpu" : devices, DEVICES_KEY);
    int n;
    try {
      n = perRun == null || perRun.isBlank() ? 1 : Integer.parseInt(perRun.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(PER_RUN_KEY + ": '" + perRun + "' is not a number", e);
    }
    DevicePool pool = of(list, n);
    Devices.checkAvailable(list, DEVICES_KEY);
    return pool;
  }

  /** Activities this worker can run at once: one per group. */
  public int slots() {
    return groups.size();
  }

  public List<List<Device>> groups() {
    return groups;
  }

  /**
   * Leases what a run's {@code device} field asks for (see the class comment). Bad or impossible
   * requests are IllegalArgumentExceptions naming the field; devices held by another run are an
   * IllegalStateException (retryable: the run tries again later, perhaps on another worker).
   */
  public synchronized Lease lease(String request) {
    String r = request == null ? "cpu" : request.trim();
    if (r.equals("cpu")) {
      return new Lease(List.of(Device.cpu()), false);
    }
    List<Device> wanted;
    if (r.equals("cuda")) {
      wanted = null;
    } else if (r.startsWith("cuda:")) {
      wanted = new ArrayList<>();
      for (String id : r.substring("cuda:".length()).split(",")) {
        String name = id.startsWith("cuda:") ? id : "cuda:" + id;
        wanted.add(Devices.parse(name, "device"));
      }
    } else {
      throw new IllegalArgumentException(
          "device: '" + request + "' is not cpu, cuda, cuda:N or cuda:N,M,...");
    }
    if (groups.get(0).get(0).equals(Device.cpu())) {
      throw new IllegalArgumentException(
          "device: the run asks for "
              + r
              + " but this worker has "
              + DEVICES_KEY
              + "=cpu; run it on a GPU worker or set device to cpu");
    }
    if (wanted == null) {
      for (List<Device> g : groups) {
        if (g.stream().noneMatch(leased::contains)) {
          return take(g);
        }
      }
      throw new IllegalStateException(
          "device: every GPU group of this worker is leased (" + leased + "); retry later");
    }
    List<Device> mine = groups.stream().flatMap(List::stream).toList();
    for (Device d : wanted) {
      if (!mine.contains(d)) {
        throw new IllegalArgumentException(
            "device: "
                + Devices.name(d)
                + " is not one of this worker's devices ("
                + DEVICES_KEY
                + "="
                + String.join(",", mine.stream().map(Devices::name).toList())
                + ")");
      }
      if (leased.contains(d)) {
        throw new IllegalStateException(
            "device: " + Devices.name(d) + " is leased by another run on this worker; retry later");
      }
    }
    return take(List.copyOf(wanted));
  }

  private Lease take(List<Device> devices) {
    leased.addAll(devices);
    LOG.debug("leased {}", devices);
    return new Lease(devices, true);
  }

  private synchronized void release(List<Device> devices) {
    leased.removeAll(devices);
    LOG.debug("released {}", devices);
  }

  /** Devices held by running activities now. */
  public synchronized List<Device> leased() {
    return List.copyOf(leased);
  }

  /** Devices of one activity; closing returns them to the pool (idempotent). */
  public final class Lease implements AutoCloseable {
    private final List<Device> devices;
    private final boolean pooled;
    private boolean closed;

    private Lease(List<Device> devices, boolean pooled) {
      this.devices = devices;
      this.pooled = pooled;
    }

    /** The devices, first one holding the master weights and the loss. */
    public List<Device> devices() {
      return devices;
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
        release(devices);
      }
    }
  }
}
