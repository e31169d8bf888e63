package io.flipflow.activities.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Device names, groups and leases; GPU pools are built with {@link DevicePool#of}, no GPU needed.
 */
class DevicePoolTest {

  private static final List<Device> FOUR_GPUS =
      List.of(Device.gpu(0), Device.gpu(1), Device.gpu(2), Device.gpu(3));

  @Test
  void parsesCpuAndCudaAndNamesTheKeyOfABadValue() {
    assertEquals(Device.cpu(), Devices.parse("cpu", "k"));
    assertEquals(Device.gpu(3), Devices.parse(" cuda:3 ", "k"));
    assertEquals(List.of(Device.gpu(0), Device.gpu(1)), Devices.parseList("cuda:0,cuda:1", "k"));
    for (String bad : new String[] {"gpu0", "cuda", "cuda:x", "", "CPU"}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Devices.parse(bad, "worker.devices"));
      assertTrue(e.getMessage().startsWith("worker.devices: '" + bad + "'"), e.getMessage());
    }
    IllegalArgumentException twice =
        assertThrows(
            IllegalArgumentException.class,
            () -> Devices.parseList("cuda:0,cuda:0", "worker.devices"));
    assertTrue(twice.getMessage().contains("cuda:0 is listed twice"), twice.getMessage());
  }

  @Test
  void aGpuThisMachineLacksFailsNamingIt() {
    int gpus = Engine.getInstance().getGpuCount();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> DevicePool.fromConfig("cuda:" + gpus, null));
    assertTrue(
        e.getMessage().contains("device cuda:" + gpus + " is not on this machine"), e.getMessage());
    assertTrue(e.getMessage().startsWith("worker.devices:"), e.getMessage());
    assertEquals(1, DevicePool.fromConfig("cpu", null).slots());
  }

  @Test
  void groupsDevicesPerRunAndRejectsAnUnevenSplit() {
    DevicePool pool = DevicePool.of(FOUR_GPUS, 2);
    assertEquals(2, pool.slots());
    assertEquals(List.of(Device.gpu(2), Device.gpu(3)), pool.groups().get(1));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> DevicePool.of(FOUR_GPUS, 3));
    assertTrue(e.getMessage().startsWith("worker.devices.per_run: 3"), e.getMessage());
    IllegalArgumentException perRun =
        assertThrows(IllegalArgumentException.class, () -> DevicePool.fromConfig("cpu", "two"));
    assertTrue(perRun.getMessage().startsWith("worker.devices.per_run:"), perRun.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> DevicePool.of(List.of(Device.cpu(), Device.gpu(0)), 1));
  }

  @Test
  void leasesAFreeGroupAndReturnsItOnClose() {
    DevicePool pool = DevicePool.of(FOUR_GPUS, 2);
    DevicePool.Lease a = pool.lease("cuda");
    DevicePool.Lease b = pool.lease("cuda");
    assertEquals(List.of(Device.gpu(0), Device.gpu(1)), a.devices());
    assertEquals(List.of(Device.gpu(2), Device.gpu(3)), b.devices());
    assertThrows(IllegalStateException.class, () -> pool.lease("cuda"));
    a.close();
    a.close(); // idempotent: a second close must not free b's devices
    assertEquals(List.of(Device.gpu(2), Device.gpu(3)), pool.leased());
    try (DevicePool.Lease c = pool.lease("cuda")) {
      assertEquals(List.of(Device.gpu(0), Device.gpu(1)), c.devices());
    }
    b.close();
    assertEquals(List.of(), pool.leased());
  }

  @Test
  void explicitDevicesMustBeThisWorkersAndFree() {
    DevicePool pool = DevicePool.of(FOUR_GPUS, 1);
    try (DevicePool.Lease two = pool.lease("cuda:1,3")) {
      assertEquals(List.of(Device.gpu(1), Device.gpu(3)), two.devices());
      IllegalStateException busy =
          assertThrows(IllegalStateException.class, () -> pool.lease("cuda:3"));
      assertTrue(busy.getMessage().contains("cuda:3 is leased"), busy.getMessage());
      assertEquals(Device.gpu(0), pool.lease("cuda").devices().get(0));
    }
    IllegalArgumentException absent =
        assertThrows(IllegalArgumentException.class, () -> pool.lease("cuda:7"));
    assertTrue(absent.getMessage().contains("cuda:7 is not one of"), absent.getMessage());
  }

  @Test
  void cpuRunsTakeNoGpuAndCpuWorkersRefuseGpuRuns() {
    DevicePool gpus = DevicePool.of(FOUR_GPUS, 1);
    try (DevicePool.Lease cpu = gpus.lease("cpu")) {
      assertEquals(List.of(Device.cpu()), cpu.devices());
      assertEquals(List.of(), gpus.leased());
    }
    DevicePool cpuOnly = DevicePool.cpu();
    assertEquals(List.of(Device.cpu()), cpuOnly.lease(null).devices());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> cpuOnly.lease("cuda:0"));
    assertTrue(e.getMessage().contains("worker.devices=cpu"), e.getMessage());
  }
}
