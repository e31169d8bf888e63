package io.flipflow.activities.engine;

import static io.flipflow.activities.engine.NativeTestSupport.assumeNative;
import static io.flipflow.activities.engine.NativeTestSupport.normal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.flipflow.activities.engine.NativeTorch.AdamWKernel;
import io.flipflow.activities.engine.NativeTorch.Dtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every tensor the extension returns belongs to the manager passed and goes with it: repeated calls
 * do not grow the process (a result left unowned would leak 0.5 MB a call here).
 */
class NativeTorchMemoryTest {

  @BeforeEach
  void requireLibrary() {
    assumeNative();
  }

  @Test
  void resultsAreOwnedByTheGivenManager() {
    try (NDManager m = NDManager.newBaseManager(Device.cpu());
        NDManager other = m.newSubManager()) {
      Random r = new Random(1);
      NDArray q = normal(m, r, 1, 1, 2, 4, 8);
      int before = other.getManagedArrays().size();
      NDArray out = NativeTorch.scaledDotProductAttention(q, q, q, null, false, other);
      assertEquals(before + 1, other.getManagedArrays().size());
      assertTrue(other.getManagedArrays().contains(out));
      NDArray half = NativeTorch.cast(q, Dtype.BFLOAT16);
      assertTrue(m.getManagedArrays().contains(half)); // the input's manager
      other.close();
      assertThrows(
          IllegalStateException.class,
          () -> NativeTorch.scaledDotProductAttention(q, q, q, null, false, other));
    }
  }

  @Test
  void repeatedCallsDoNotGrowTheProcess() throws IOException {
    Random r = new Random(2);
    try (NDManager m = NDManager.newBaseManager(Device.cpu());
        TcpStore store = NativeTorch.rendezvous("127.0.0.1", 0, 0, 1, Duration.ofSeconds(5));
        ProcessGroup group = store.processGroup(ProcessGroup.Backend.GLOO, "127.0.0.1")) {
      NDArray w = normal(m, r, 1, 256, 64);
      NDArray mom = m.zeros(w.getShape());
      NDArray vel = m.zeros(w.getShape());
      AdamWGroup g =
          new AdamWGroup(
              List.of(w),
              List.of(normal(m, r, 1, 256, 64)),
              List.of(mom),
              List.of(vel),
              1e-3,
              0.9,
              0.999,
              1e-8,
              0.1);
      // inputs made once: DJL's create(float[]) holds direct buffers until a GC, which would blur
      // the measure (measured: 200 MB over 300 creations with nothing else called)
      NDArray q = normal(m, r, 1, 1, 8, 256, 64); // 0.5 MB
      long rss0 = 0;
      int warmup = 30, measured = 300;
      for (int i = 0; i < warmup + measured; i++) {
        if (i == warmup) {
          rss0 = rssKb();
        }
        try (NDManager step = m.newSubManager()) {
          NDArray out = NativeTorch.scaledDotProductAttention(q, q, q, null, true, step);
          NativeTorch.cast(out, Dtype.BFLOAT16);
          group.allGather(out, step);
          group.allReduce(List.of(out));
          NativeTorch.adamW(List.of(g), i + 1, AdamWKernel.AUTO, false);
        }
      }
      long grownMb = (rssKb() - rss0) / 1024;
      System.out.printf(
          "RSS grew %d MB over %d iterations (a leaked result: >= %d MB)%n",
          grownMb, measured, measured / 2);
      assertTrue(grownMb < 64, "RSS grew " + grownMb + " MB");
    }
  }

  private static long rssKb() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IOException("no VmRSS in /proc/self/status");
  }
}
