package io.flipflow.infra.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The GPU check's data-parallel comparison, run here on two CPU replicas. */
class DeviceCheckTest {
  @Test
  void twoReplicasMatchOneDevice() throws Exception {
    DeviceCheck.Comparison c = DeviceCheck.compareDataParallel(List.of(Device.cpu(), Device.cpu()));
    assertTrue(c.matches(), c.toString());
    // on one device the arithmetic is the same on both sides: no sign flips at all
    assertTrue(c.maxWeightDifference() < 1e-5, c.toString());
    assertTrue(c.maxRelativeLossDifference() < 1e-5, c.toString());
    assertEquals(2, c.groupLosses().size());
  }
}
