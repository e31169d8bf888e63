package io.flipflow.infra.bench;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * Which engine, libtorch and devices this worker sees, and whether a matrix product runs on the
 * default device: the first step of the GPU check (infra/deploy/gpu/gpu-check.sh). Training across
 * devices is a run with {@code ranks}, one process per device (RanksTrainingTest's check).
 */
public final class DeviceCheck {

  private DeviceCheck() {}

  public static void main(String[] args) {
    Engine engine = Engine.getEngine("PyTorch");
    Device device = engine.defaultDevice();
    System.out.printf(
        "engine %s %s, GPUs %d, default device %s%n",
        engine.getEngineName(), engine.getVersion(), engine.getGpuCount(), device);
    try (NDManager m = NDManager.newBaseManager(device)) {
      NDArray a = m.randomUniform(0, 1, new Shape(1024, 1024));
      long t0 = System.nanoTime();
      float sum = a.matMul(a).sum().getFloat();
      System.out.printf(
          "1024x1024 matMul on %s: sum %.1f in %.1f ms%n",
          device, sum, (System.nanoTime() - t0) / 1e6);
    }
  }
}
