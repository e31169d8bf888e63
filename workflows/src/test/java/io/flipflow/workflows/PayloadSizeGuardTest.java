package io.flipflow.workflows;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.SpecFiles;
import io.temporal.common.converter.DataConverter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class PayloadSizeGuardTest {
  private final DataConverter converter = PayloadSizeGuard.dataConverter();

  @Test
  void smallRecordsPass() {
    RunSpec spec =
        SpecFiles.readRun(
            Path.of(System.getProperty("user.dir"))
                .getParent()
                .resolve("config/runs/emoji-tiny-mask50.json"));
    assertDoesNotThrow(() -> converter.toPayloads(spec));
  }

  @Test
  void anOversizedPayloadFailsBeforeItReachesTemporal() {
    String twoMegabytes = "x".repeat(2 << 20);
    Exception e = assertThrows(Exception.class, () -> converter.toPayloads(twoMegabytes));
    String message = Failures.message(e);
    assertTrue(message.contains("exceeds flipflow's limit"), message);
    assertTrue(message.contains("S3 URI"), message);
  }
}
