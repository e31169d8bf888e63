package io.flipflow.infra.local;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Reads the listening TCP sockets of this JVM and its child processes from /proc (Linux). */
final class ListeningSockets {
  record Listener(String address, int port) {
    boolean loopback() {
      return address.equals("127.0.0.1")
          || address.equals("::1")
          || address.equals("::ffff:127.0.0.1");
    }
  }

  private ListeningSockets() {}

  static List<Listener> ofThisProcessTree() throws IOException {
    Set<String> inodes = new HashSet<>();
    List<Long> pids = new ArrayList<>();
    pids.add(ProcessHandle.current().pid());
    ProcessHandle.current().descendants().forEach(p -> pids.add(p.pid()));
    for (long pid : pids) {
      Path fds = Path.of("/proc", String.valueOf(pid), "fd");
      try (var list = Files.list(fds)) {
        for (Path fd : (Iterable<Path>) list::iterator) {
          try {
            String target = Files.readSymbolicLink(fd).toString();
            if (target.startsWith("socket:[")) {
              inodes.add(target.substring(8, target.length() - 1));
            }
          } catch (IOException ignored) {
            // the fd closed while we looked
          }
        }
      } catch (IOException ignored) {
        // the process ended while we looked
      }
    }
    List<Listener> out = new ArrayList<>();
    read(Path.of("/proc/net/tcp"), false, inodes, out);
    read(Path.of("/proc/net/tcp6"), true, inodes, out);
    return out;
  }

  /** Every listening socket on these ports, whoever owns it (pg_ctl detaches the postmaster). */
  static List<Listener> onPorts(Set<Integer> ports) throws IOException {
    List<Listener> all = new ArrayList<>();
    read(Path.of("/proc/net/tcp"), false, null, all);
    read(Path.of("/proc/net/tcp6"), true, null, all);
    return all.stream().filter(l -> ports.contains(l.port())).toList();
  }

  private static void read(Path table, boolean v6, Set<String> inodes, List<Listener> out)
      throws IOException {
    List<String> lines = Files.readAllLines(table);
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.trim().split("\\s+");
      if (!f[3].equals("0A") || (inodes != null && !inodes.contains(f[9]))) {
        continue; // not LISTEN, or not ours
      }
      String[] local = f[1].split(":");
      out.add(new Listener(decode(local[0], v6), Integer.parseInt(local[1], 16)));
    }
  }

  private static String decode(String hex, boolean v6) {
    if (!v6) {
      return ip4(hex);
    }
    if (hex.equals("00000000000000000000000001000000")) {
      return "::1";
    }
    if (hex.startsWith("0000000000000000FFFF0000")) {
      return "::ffff:" + ip4(hex.substring(24));
    }
    return hex.equals("00000000000000000000000000000000") ? "::" : hex;
  }

  private static String ip4(String hex) {
    // /proc prints the address as a little-endian 32-bit word
    return Integer.parseInt(hex.substring(6, 8), 16)
        + "."
        + Integer.parseInt(hex.substring(4, 6), 16)
        + "."
        + Integer.parseInt(hex.substring(2, 4), 16)
        + "."
        + Integer.parseInt(hex.substring(0, 2), 16);
  }
}
