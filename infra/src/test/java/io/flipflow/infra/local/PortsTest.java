package io.flipflow.infra.local;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PortsTest {

  /**
   * CI once failed when a port picked from the ephemeral range was taken by the stack's own
   * outbound connection before Temporal bound it; test ports now come from below that range.
   */
  @Test
  void freePortsLieBelowTheEphemeralRangeAndAreNeverHandedOutTwice() {
    int ephemeralLow = Ports.ephemeralRange()[0];
    Set<Integer> seen = new HashSet<>();
    for (int i = 0; i < 200; i++) {
      int port = Ports.freePort();
      assertTrue(port < ephemeralLow, "port " + port + " is inside the ephemeral range");
      assertTrue(seen.add(port), "port " + port + " handed out twice");
    }
  }
}
