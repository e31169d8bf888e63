package io.flipflow.activities.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Device names and leases; GPU pools are built with {@link DevicePool#of}, no GPU needed. */
class DevicePoolTest {

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
  void aWorkerHoldsOneDeviceAndRefusesTheRemovedPerRunGroups() {
    IllegalArgumentException two =
        assertThrows(
            IllegalArgumentException.class, () -> DevicePool.fromConfig("cuda:0,cuda:1", null));
    assertTrue(
        two.getMessage().startsWith("worker.devices: 'cuda:0,cuda:1' lists 2"), two.getMessage());
    assertTrue(two.getMessage().contains("one gpu worker per device"), two.getMessage());
    IllegalArgumentException perRun =
        assertThrows(IllegalArgumentException.class, () -> DevicePool.fromConfig("cpu", "2"));
    assertTrue(perRun.getMessage().startsWith("worker.devices.per_run: '2'"), perRun.getMessage());
    assertTrue(perRun.getMessage().contains("set ranks"), perRun.getMessage());
    assertEquals(Device.cpu(), DevicePool.fromConfig("cpu", "1").device(), "1 changes nothing");
    assertEquals(1, DevicePool.of(Device.gpu(3)).slots());
  }

  @Test
  void leasesTheGpuOnceAndReturnsItOnClose() {
    DevicePool pool = DevicePool.of(Device.gpu(2));
    DevicePool.Lease a = pool.lease("cuda");
    assertEquals(List.of(Device.gpu(2)), a.devices());
    IllegalStateException busy =
        assertThrows(IllegalStateException.class, () -> pool.lease("cuda:2"));
    assertTrue(busy.getMessage().contains("cuda:2 is leased"), busy.getMessage());
    a.close();
    a.close(); // idempotent
    assertEquals(List.of(), pool.leased());
    try (DevicePool.Lease b = pool.lease("cuda:2")) {
      assertEquals(List.of(Device.gpu(2)), pool.leased());
    }
    assertEquals(List.of(), pool.leased());
  }

  @Test
  void aRunMayNameOnlyThisWorkersDeviceAndOneAtThat() {
    DevicePool pool = DevicePool.of(Device.gpu(0));
    IllegalArgumentException other =
        assertThrows(IllegalArgumentException.class, () -> pool.lease("cuda:7"));
    assertTrue(
        other.getMessage().contains("cuda:7 is not this worker's device"), other.getMessage());
    IllegalArgumentException several =
        assertThrows(IllegalArgumentException.class, () -> pool.lease("cuda:0,1"));
    assertTrue(several.getMessage().contains("set ranks"), several.getMessage());
    assertEquals(List.of(), pool.leased(), "a refused lease holds nothing");
  }

  @Test
  void cpuRunsTakeNoGpuAndCpuWorkersRefuseGpuRuns() {
    DevicePool gpu = DevicePool.of(Device.gpu(0));
    try (DevicePool.Lease cpu = gpu.lease("cpu")) {
      assertEquals(List.of(Device.cpu()), cpu.devices());
      assertEquals(List.of(), gpu.leased());
    }
    DevicePool cpuOnly = DevicePool.cpu();
    assertEquals(List.of(Device.cpu()), cpuOnly.lease(null).devices());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> cpuOnly.lease("cuda:0"));
    assertTrue(e.getMessage().contains("worker.devices=cpu"), e.getMessage());
  }
}
