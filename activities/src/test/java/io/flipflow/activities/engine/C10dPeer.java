package io.flipflow.activities.engine;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.time.Duration;

/**
 * The second JVM of {@link C10dGlooTest}: {@code C10dPeer MODE HOST PORT RANK WORLD TIMEOUT_MS}.
 * Modes: {@code collectives} runs {@link C10dGlooTest#collectives} as this rank and exits 0 when
 * every result is right; {@code vanish} joins the process group and exits at once (a peer gone);
 * {@code probe} (no other arguments) prints whether the extension loaded and why not.
 */
public final class C10dPeer {

  private C10dPeer() {}

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    if (mode.equals("probe")) {
      System.out.println("available=" + NativeTorch.isAvailable());
      System.out.println("reason=" + NativeTorch.unavailableReason());
      System.exit(0);
    }
    String host = args[1];
    int port = Integer.parseInt(args[2]);
    int rank = Integer.parseInt(args[3]);
    int world = Integer.parseInt(args[4]);
    Duration timeout = Duration.ofMillis(Long.parseLong(args[5]));
    NativeTorch.requireAvailable();
    try (NDManager m = NDManager.newBaseManager(Device.cpu());
        TcpStore store = NativeTorch.rendezvous(host, port, rank, world, timeout);
        ProcessGroup group = store.processGroup(ProcessGroup.Backend.GLOO, "127.0.0.1")) {
      if (mode.equals("vanish")) {
        System.out.println("peer " + rank + ": joined, now vanishing");
        System.out.flush();
        Runtime.getRuntime().halt(0); // no close, no goodbye: as a killed process
      }
      String report = C10dGlooTest.collectives(group, m);
      System.out.println("peer " + rank + ": " + report);
    } catch (Throwable t) {
      System.out.println("peer " + rank + " FAILED: " + t);
      t.printStackTrace(System.out);
      System.exit(1);
    }
    System.exit(0);
  }
}
