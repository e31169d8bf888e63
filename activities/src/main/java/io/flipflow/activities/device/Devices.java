package io.flipflow.activities.device;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Device names as configs and run specs write them ({@code cpu}, {@code cuda:N}) and DJL's {@link
 * Device}s. Nothing here assumes a GPU: {@code cpu} is the default everywhere, and a CUDA device is
 * checked against the GPUs the engine actually sees before any work starts on it.
 */
public final class Devices {
  private static final Pattern CUDA = Pattern.compile("cuda:(\\d+)");

  private Devices() {}

  /** The default device: the CPU, whatever GPUs the machine has. */
  public static Device cpu() {
    return Device.cpu();
  }

  /**
   * {@code cpu} or {@code cuda:N} as a DJL device; anything else is an IllegalArgumentException
   * naming {@code key} (the config key or spec field the value came from).
   */
  public static Device parse(String value, String key) {
    String v = value == null ? "" : value.trim();
    if (v.equals("cpu")) {
      return Device.cpu();
    }
    Matcher m = CUDA.matcher(v);
    if (m.matches()) {
      return Device.gpu(Integer.parseInt(m.group(1)));
    }
    throw new IllegalArgumentException(
        key + ": '" + value + "' is not a device; write cpu or cuda:N (e.g. cuda:0)");
  }

  /** A comma-separated list ({@code cuda:0,cuda:1}); at least one, no device twice. */
  public static List<Device> parseList(String csv, String key) {
    if (csv == null || csv.isBlank()) {
      throw new IllegalArgumentException(key + ": no device given; write cpu or cuda:0,cuda:1,...");
    }
    List<Device> devices = new ArrayList<>();
    for (String part : csv.split(",")) {
      Device d = parse(part, key);
      if (devices.contains(d)) {
        throw new IllegalArgumentException(key + ": device " + name(d) + " is listed twice");
      }
      devices.add(d);
    }
    return List.copyOf(devices);
  }

  /** The config spelling of a device: {@code cpu} or {@code cuda:N}. */
  public static String name(Device device) {
    return device.isGpu() ? "cuda:" + device.getDeviceId() : "cpu";
  }

  /**
   * Fails, naming the device and {@code key}, when the engine does not see a GPU this list names (a
   * worker configured for cuda:1 on a one-GPU machine, a CPU-only libtorch).
   */
  public static void checkAvailable(List<Device> devices, String key) {
    int gpus = -1;
    for (Device d : devices) {
      if (!d.isGpu()) {
        continue;
      }
      if (gpus < 0) {
        gpus = Engine.getInstance().getGpuCount();
      }
      if (d.getDeviceId() >= gpus) {
        throw new IllegalArgumentException(
            key
                + ": device "
                + name(d)
                + " is not on this machine: the "
                + Engine.getInstance().getEngineName()
                + " engine sees "
                + gpus
                + " GPU(s)"
                + (gpus == 0 ? " (CPU-only libtorch, or no CUDA device visible)" : ""));
      }
    }
  }
}
