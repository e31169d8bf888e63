package io.flipflow.activities.engine;

import static io.flipflow.activities.engine.NativeTestSupport.assumeNative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * c10d over Gloo on 127.0.0.1 between this JVM (rank 0) and a second one ({@link C10dPeer}, rank 1,
 * spawned on the test classpath): all-reduce (sum and mean, bucketed, of tensors and of gradients),
 * all-gather and broadcast give the right values on both ranks; a rank that never arrives, a server
 * that is not there and a peer that dies all fail with a message after the timeout instead of
 * hanging.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class C10dGlooTest {

  static final String HOST = "127.0.0.1";

  @BeforeEach
  void requireLibrary() {
    assumeNative();
  }

  @Test
  void twoJvmsAllReduceAllGatherAndBroadcast() throws Exception {
    try (NDManager m = NDManager.newBaseManager(Device.cpu());
        TcpStore store = NativeTorch.rendezvous(HOST, 0, 0, 2, Duration.ofSeconds(30))) {
      Process peer = startPeer("collectives", store.port(), 1, 2, 30_000);
      CompletableFuture<String> peerOutput = drain(peer);
      String report;
      try (ProcessGroup group = store.processGroup(ProcessGroup.Backend.GLOO, HOST)) {
        report = collectives(group, m);
      } finally {
        assertTrue(peer.waitFor(60, TimeUnit.SECONDS), "peer did not exit");
      }
      String out = peerOutput.get(10, TimeUnit.SECONDS);
      System.out.print(out);
      System.out.println("rank 0: " + report);
      assertEquals(0, peer.exitValue(), "peer failed:\n" + out);
      assertTrue(out.contains("peer 1: all-reduce"), out);
    }
  }

  /**
   * The collectives both ranks run, asserting their results; rank r contributes values built from
   * r, so every expected value is known. Returns what it checked, with the all-reduce time.
   */
  static String collectives(ProcessGroup g, NDManager m) {
    int r = g.rank();
    int world = g.worldSize();
    assertEquals(2, world);
    // all-reduce sum of three tensors (one flattened bucket) and one big one (its own bucket)
    NDArray a = m.full(new Shape(3, 4), r + 1f);
    NDArray b = m.arange(5f).mul(r + 1f);
    NDArray c = m.create(new float[] {r});
    NDArray big = m.full(new Shape(7_000_000), r + 1f); // 28 MB > the 25 MiB bucket
    long t0 = System.nanoTime();
    g.allReduce(List.of(a, b, c, big));
    double ms = (System.nanoTime() - t0) / 1e6;
    assertArrayEquals(filled(12, 3f), a.toFloatArray());
    assertArrayEquals(new float[] {0, 3, 6, 9, 12}, b.toFloatArray());
    assertArrayEquals(new float[] {1}, c.toFloatArray());
    assertEquals(3f * 7_000_000, big.sum().getFloat(), 1);
    assertEquals(3f, big.getFloat(6_999_999));
    // all-reduce mean of one contiguous tensor (reduced in place)
    NDArray mean = m.full(new Shape(4), 2f * r + 1f); // 1 and 3
    g.allReduce(List.of(mean), true);
    assertArrayEquals(filled(4, 2f), mean.toFloatArray());
    // the parameters' own gradients: w.grad = r + 1 on rank r, summed to 3
    NDArray w = m.zeros(new Shape(2, 2));
    w.setRequiresGradient(true);
    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
      gc.backward(w.mul(r + 1f).sum());
    }
    g.allReduceGradients(List.of(w), false);
    assertArrayEquals(filled(4, 3f), w.getGradient().toFloatArray());
    // all-gather: rank r's [2, 3] tensor is 10 r + (0..5); the result is [2, 2, 3] in rank order
    NDArray mine = m.arange(6f).add(10f * r).reshape(2, 3);
    NDArray gathered = g.allGather(mine, m);
    assertEquals(new Shape(2, 2, 3), gathered.getShape());
    assertArrayEquals(
        new float[] {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15}, gathered.toFloatArray());
    // broadcast from rank 1, then from rank 0, of two tensors each
    NDArray x = m.full(new Shape(3), r == 1 ? 7f : -1f);
    NDArray y = m.arange(4f).mul(r == 1 ? 1f : 0f);
    g.broadcast(List.of(x, y), 1);
    assertArrayEquals(filled(3, 7f), x.toFloatArray());
    assertArrayEquals(new float[] {0, 1, 2, 3}, y.toFloatArray());
    NDArray z = m.full(new Shape(2), r == 0 ? 5f : 0f);
    g.broadcast(List.of(z), 0);
    assertArrayEquals(filled(2, 5f), z.toFloatArray());
    g.barrier();
    return String.format(
        "all-reduce (sum, mean, gradients), all-gather, broadcast from 1 and 0, barrier: all"
            + " right; all-reduce of %.1f MB in %.0f ms",
        (12 + 5 + 1 + 7_000_000) * 4 / 1e6, ms);
  }

  @Test
  void aRankThatNeverArrivesFailsAfterTheTimeoutNamingIt() {
    long t0 = System.nanoTime();
    NativeTorchException e;
    try (TcpStore store = NativeTorch.rendezvous(HOST, 0, 0, 2, Duration.ofSeconds(3))) {
      e =
          assertThrows(
              NativeTorchException.class,
              () -> store.processGroup(ProcessGroup.Backend.GLOO, HOST));
    }
    double s = (System.nanoTime() - t0) / 1e9;
    System.out.printf("missing rank: failed after %.1f s: %s%n", s, e.getMessage());
    assertTrue(e.getMessage().contains("rank 1 of world size 2 never arrived"), e.getMessage());
    assertTrue(s >= 2.9 && s < 20, "failed after " + s + " s, timeout 3 s");
  }

  @Test
  void aRankWithoutItsServerFailsAfterTheTimeout() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // free once closed: nobody serves it
    }
    long t0 = System.nanoTime();
    NativeTorchException e =
        assertThrows(
            NativeTorchException.class,
            () -> NativeTorch.rendezvous(HOST, port, 1, 2, Duration.ofSeconds(2)).close());
    double s = (System.nanoTime() - t0) / 1e9;
    System.out.printf("no server: failed after %.1f s: %s%n", s, e.getMessage());
    assertTrue(e.getMessage().contains("could not reach the rendezvous store"), e.getMessage());
    assertTrue(e.getMessage().contains("served by rank 0"), e.getMessage());
    assertTrue(s < 20, "failed after " + s + " s, timeout 2 s");
  }

  @Test
  void aPeerThatDiesFailsTheCollectiveInsteadOfHanging() throws Exception {
    try (NDManager m = NDManager.newBaseManager(Device.cpu());
        // 30 s, not less: the peer is a fresh JVM, and on a loaded machine it can take over 5 s
        // to arrive (seen in a full build); a dead peer's closed socket fails the collective at
        // once
        TcpStore store = NativeTorch.rendezvous(HOST, 0, 0, 2, Duration.ofSeconds(30))) {
      Process peer = startPeer("vanish", store.port(), 1, 2, 30_000);
      CompletableFuture<String> peerOutput = drain(peer);
      try (ProcessGroup group = store.processGroup(ProcessGroup.Backend.GLOO, HOST)) {
        assertTrue(peer.waitFor(60, TimeUnit.SECONDS), "peer did not exit");
        long t0 = System.nanoTime();
        NativeTorchException e =
            assertThrows(
                NativeTorchException.class,
                () -> group.allReduce(List.of(m.ones(new Shape(1000)))));
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.print(peerOutput.get(10, TimeUnit.SECONDS));
        System.out.printf("peer gone: all-reduce failed after %.1f s: %s%n", s, e.getMessage());
        assertTrue(
            e.getMessage().contains("all-reduce failed on gloo group 0 rank 0 of world size 2"),
            e.getMessage());
        assertTrue(s < 45, "failed after " + s + " s, timeout 30 s");
      }
    }
  }

  @Test
  void oneRankGroupAndNcclRefusal() {
    try (NDManager m = NDManager.newBaseManager(Device.cpu());
        TcpStore store = NativeTorch.rendezvous(HOST, 0, 0, 1, Duration.ofSeconds(5))) {
      store.set("checkpoint", "step-42");
      assertEquals("step-42", store.getString("checkpoint"));
      try (ProcessGroup g = store.processGroup(ProcessGroup.Backend.GLOO, HOST)) {
        NDArray a = m.arange(3f);
        g.allReduce(List.of(a), true);
        assertArrayEquals(new float[] {0, 1, 2}, a.toFloatArray());
        assertEquals(new Shape(1, 3), g.allGather(a, m).getShape());
      }
      if (!NativeTorch.ncclCompiled()) {
        UnsupportedOperationException e =
            assertThrows(
                UnsupportedOperationException.class,
                () -> store.processGroup(ProcessGroup.Backend.NCCL, null));
        System.out.println("NCCL refused: " + e.getMessage());
        assertTrue(e.getMessage().contains("NCCL is not compiled"), e.getMessage());
      }
    }
  }

  // ---- the second JVM ----

  private static Process startPeer(String mode, int port, int rank, int world, long timeoutMs)
      throws IOException {
    Path lib = NativeTorch.libraryPath();
    return startJvm(
        List.of("-D" + NativeTorch.LIBRARY_PROPERTY + "=" + lib),
        List.of(
            mode,
            HOST,
            String.valueOf(port),
            String.valueOf(rank),
            String.valueOf(world),
            String.valueOf(timeoutMs)));
  }

  static Process startJvm(List<String> properties, List<String> args) throws IOException {
    return PeerJvm.start(C10dPeer.class, properties, args);
  }

  static CompletableFuture<String> drain(Process p) {
    return PeerJvm.drain(p);
  }

  private static float[] filled(int n, float value) {
    float[] f = new float[n];
    java.util.Arrays.fill(f, value);
    return f;
  }
}
