package io.flipflow.activities.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A second JVM on the test classpath, for tests of several processes (c10d ranks). */
public final class PeerJvm {

  private PeerJvm() {}

  /**
   * Starts {@code main} with this JVM's classpath and environment, one libtorch thread, the native
   * extension this JVM loaded (when it did), and the given system properties and arguments.
   */
  public static Process start(Class<?> main, List<String> properties, List<String> args)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m"); // a later -Xmx in properties wins
    cmd.add("-XX:TieredStopAtLevel=1"); // start fast: the peer's work is native
    cmd.add("-Dai.djl.offline=true");
    cmd.add("-Dai.djl.pytorch.num_threads=1");
    cmd.add("-Dai.djl.pytorch.num_interop_threads=1");
    cmd.addAll(properties);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(main.getName());
    cmd.addAll(args);
    // the environment (DJL_CACHE_DIR, OMP_WAIT_POLICY) is this JVM's
    return new ProcessBuilder(cmd).redirectErrorStream(true).start();
  }

  /** The process's whole output, read on a thread of its own. */
  public static CompletableFuture<String> drain(Process p) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            return "(output unreadable: " + e + ")";
          }
        },
        task -> { // its own thread: the common pool has one worker on 2 cores
          Thread t = new Thread(task, "peer-output");
          t.setDaemon(true);
          t.start();
        });
  }
}
