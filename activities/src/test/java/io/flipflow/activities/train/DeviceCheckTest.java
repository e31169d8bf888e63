package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The GPU check's data-parallel comparison, run here on two CPU replicas. */
class DeviceCheckTest {
  @Test
  void twoReplicasMatchOneDevice() throws Exception {
    double diff = DeviceCheck.dataParallelDifference(List.of(Device.cpu(), Device.cpu()));
    assertTrue(diff < 1e-5, "max weight difference " + diff);
  }
}
