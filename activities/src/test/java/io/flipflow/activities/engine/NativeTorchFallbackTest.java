package io.flipflow.activities.engine;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Where the library is missing, the extension says why and refuses every call, so callers can fall
 * back. Runs with or without the library built (the second JVM is told a path that does not exist).
 */
class NativeTorchFallbackTest {

  @Test
  void aJvmWithoutTheLibrarySaysWhy() throws Exception {
    Process p =
        C10dGlooTest.startJvm(
            List.of("-D" + NativeTorch.LIBRARY_PROPERTY + "=/nonexistent/libflipflow_torch.so"),
            List.of("probe"));
    String out = C10dGlooTest.drain(p).get(60, TimeUnit.SECONDS);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    System.out.print(out);
    assertTrue(out.contains("available=false"), out);
    assertTrue(
        out.contains(
            "reason=libflipflow_torch.so is not built (looked at"
                + " /nonexistent/libflipflow_torch.so); build it with `bash"
                + " activities/src/main/native/build.sh`"),
        out);
  }

  @Test
  void thisJvmIsConsistent() {
    if ("1".equals(System.getenv("FLIPFLOW_NATIVE_REQUIRED"))) { // CI: skipping would hide a gap
      assertTrue(
          NativeTorch.isAvailable(),
          "FLIPFLOW_NATIVE_REQUIRED=1 but: " + NativeTorch.unavailableReason());
    }
    if (NativeTorch.isAvailable()) {
      assertNull(NativeTorch.unavailableReason());
      assertNotNull(NativeTorch.libraryPath());
    } else {
      System.out.println("native extension unavailable here: " + NativeTorch.unavailableReason());
      IllegalStateException e =
          assertThrows(IllegalStateException.class, NativeTorch::torchVersion);
      assertTrue(e.getMessage().contains(NativeTorch.unavailableReason()), e.getMessage());
    }
  }
}
