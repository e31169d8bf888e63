package io.flipflow.infra.local;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

/** Loopback port checks, so a clash is reported by port and service before anything starts. */
public final class Ports {
  private Ports() {}

  public static void requireFree(int port, String service) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    } catch (IOException e) {
      throw new IllegalStateException(
          "port 127.0.0.1:"
              + port
              + " for "
              + service
              + " is already in use; stop what holds it or set another port in config/flipflow.properties");
    }
  }

  public static boolean accepting(String host, int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), 300);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * A loopback port that is free now and lies below the kernel's ephemeral range, so the outbound
   * connections a starting stack makes (JDBC, S3, gRPC) cannot take it before the service binds it.
   * Never hands out the same port twice in one JVM.
   */
  public static synchronized int freePort() {
    int[] ephemeral = ephemeralRange();
    int low = 10_000;
    int high = ephemeral[0] > low + 1_000 ? ephemeral[0] : 30_000;
    for (int tries = 0; tries < 1_000; tries++) {
      int port = low + RANDOM.nextInt(high - low);
      if (HANDED_OUT.contains(port)) {
        continue;
      }
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        HANDED_OUT.add(port);
        return port;
      } catch (IOException busy) {
        // taken: try another
      }
    }
    throw new IllegalStateException("no free loopback port in [" + low + ", " + high + ")");
  }

  private static final Random RANDOM = new Random();
  private static final Set<Integer> HANDED_OUT = new HashSet<>();

  /** Linux's {@code ip_local_port_range}; elsewhere the IANA dynamic range. */
  static int[] ephemeralRange() {
    try {
      String[] parts =
          Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+");
      return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
    } catch (IOException | RuntimeException e) {
      return new int[] {49152, 65535};
    }
  }
}
