package io.flipflow.activities.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.DynamicMessage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The writer's file handling, read back with the strict Java reader (no Python needed). */
class TensorBoardWriterTest {

  @Test
  void aFileStartsWithItsVersionAndHoldsEachEvent(@TempDir Path logdir) throws IOException {
    Path file;
    try (TensorBoardWriter tb = TensorBoardWriter.open(logdir, "flip-1/pretrain", 0)) {
      tb.scalar("train/loss", 1, 2.5, 100.0);
      tb.scalars(2, Map.of("train/lr", 1e-3), 101.0);
      tb.scalars(3, Map.of(), 102.0); // nothing
      file = tb.file();
      assertEquals(logdir.resolve("flip-1/pretrain"), tb.directory());
      assertTrue(tb.failure().isEmpty());
    }
    assertEquals(List.of(file), EventFiles.list(logdir.resolve("flip-1/pretrain")));
    assertTrue(
        file.getFileName().toString().matches("events\\.out\\.tfevents\\.\\d{10}\\.[^.]+.*"),
        file.toString());
    List<DynamicMessage> events = EventFiles.read(file);
    assertEquals(4, events.size());
    assertEquals("brain.Event:2", events.get(0).getField(EventSchema.EVENT_FILE_VERSION));
    assertStart(events.get(1), 0);
    assertEquals(1L, events.get(2).getField(EventSchema.EVENT_STEP));
    assertEquals(100.0, events.get(2).getField(EventSchema.EVENT_WALL_TIME));
    DynamicMessage value =
        (DynamicMessage)
            ((DynamicMessage) events.get(2).getField(EventSchema.EVENT_SUMMARY))
                .getRepeatedField(EventSchema.SUMMARY_VALUE, 0);
    assertEquals("train/loss", value.getField(EventSchema.VALUE_TAG));
    assertEquals(2.5f, value.getField(EventSchema.VALUE_SIMPLE_VALUE));
  }

  @Test
  void everyOpenIsANewFileInOpenOrder(@TempDir Path logdir) throws IOException {
    TensorBoardWriter first = TensorBoardWriter.open(logdir, "r", 0);
    TensorBoardWriter second = TensorBoardWriter.open(logdir, "r", 20);
    first.close();
    second.close();
    assertNotEquals(first.file(), second.file());
    // name order is what readers go by: the later open sorts later even within one second
    assertEquals(List.of(first.file(), second.file()), EventFiles.list(logdir.resolve("r")));
    List<DynamicMessage> resumed = EventFiles.read(second.file());
    assertEquals(2, resumed.size());
    assertStart(resumed.get(1), 20);
  }

  private static void assertStart(DynamicMessage event, long step) {
    assertEquals(step, event.getField(EventSchema.EVENT_STEP));
    DynamicMessage log = (DynamicMessage) event.getField(EventSchema.EVENT_SESSION_LOG);
    assertSame(EventSchema.SESSION_START, log.getField(EventSchema.SESSION_LOG_STATUS));
  }

  @Test
  void whatIsWrittenReachesTheFileByFlushOrInterval(@TempDir Path logdir) throws IOException {
    TensorBoardWriter tb = TensorBoardWriter.open(logdir, "r", 0, Duration.ZERO);
    TensorBoardWriter held = TensorBoardWriter.open(logdir, "s", 0, Duration.ofHours(1));
    tb.scalar("a", 1, 1.0, 1.0);
    held.scalar("a", 1, 1.0, 1.0);
    assertEquals(3, EventFiles.read(tb.file()).size(), "interval 0: every write is flushed");
    assertEquals(2, EventFiles.read(held.file()).size(), "buffered until flush");
    held.flush();
    assertEquals(3, EventFiles.read(held.file()).size());
    tb.close();
    held.close();
  }

  @Test
  void aFolderThatCannotBeMadeStopsTheWriterNotTheCaller(@TempDir Path dir) throws IOException {
    Path notADirectory = Files.writeString(dir.resolve("logdir"), "a file");
    TensorBoardWriter tb = TensorBoardWriter.open(notADirectory, "r", 0);
    assertTrue(tb.failure().isPresent());
    tb.scalar("a", 1, 1.0, 1.0);
    tb.flush();
    tb.close();
    tb.close();
    assertFalse(Files.exists(tb.file()));
  }

  @Test
  void aFailingWriteIsKeptOnceAndLaterCallsDoNothing(@TempDir Path dir) {
    FailingStream stream = new FailingStream(200);
    TensorBoardWriter tb =
        TensorBoardWriter.start(dir, dir.resolve("f"), stream, 0, Duration.ZERO, 1.0);
    assertTrue(tb.failure().isEmpty());
    for (int step = 0; step < 100; step++) {
      tb.scalar("train/loss", step, 1.0, 1.0);
    }
    IOException cause = tb.failure().orElseThrow();
    assertEquals("disk full", cause.getMessage());
    int writesWhenFailed = stream.writes;
    tb.scalar("train/loss", 101, 1.0, 1.0);
    tb.flush();
    tb.close();
    assertEquals(writesWhenFailed, stream.writes, "no I/O after the failure");
    assertSame(cause, tb.failure().orElseThrow());
    assertTrue(stream.closed);
  }

  @Test
  void programmingErrorsThrow(@TempDir Path logdir) {
    assertThrows(IllegalArgumentException.class, () -> TensorBoardWriter.open(logdir, "", 0));
    assertThrows(IllegalArgumentException.class, () -> TensorBoardWriter.open(logdir, "/abs", 0));
    assertThrows(
        IllegalArgumentException.class, () -> TensorBoardWriter.open(logdir, "a/../..", 0));
    try (TensorBoardWriter tb = TensorBoardWriter.open(logdir, "r", 0)) {
      assertThrows(IllegalArgumentException.class, () -> tb.scalar("", 1, 1.0, 1.0));
      assertThrows(IllegalArgumentException.class, () -> tb.scalar(null, 1, 1.0, 1.0));
      java.util.HashMap<String, Double> withNull = new java.util.HashMap<>();
      withNull.put("a", null);
      assertThrows(NullPointerException.class, () -> tb.scalars(1, withNull, 1.0));
    }
  }

  @Test
  void aLongRunKeepsEveryEventInOrder(@TempDir Path logdir) throws IOException {
    Path file;
    try (TensorBoardWriter tb = TensorBoardWriter.open(logdir, "r", 0, Duration.ofHours(1))) {
      for (int step = 0; step < 50_000; step++) {
        tb.scalars(
            step,
            Map.of("loss", 1.0 / (step + 1), "lr", 1e-4, "ls", 2.6, "sps", 900.0, "dt", 0.1),
            step);
      }
      file = tb.file();
    }
    List<DynamicMessage> events = EventFiles.read(file);
    assertEquals(50_002, events.size());
    for (int i = 2; i < events.size(); i++) {
      assertEquals((long) (i - 2), events.get(i).getField(EventSchema.EVENT_STEP));
    }
  }

  /** Accepts {@code capacity} bytes, then fails every write like a full disk. */
  private static final class FailingStream extends OutputStream {
    private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
    private final int capacity;
    int writes;
    boolean closed;

    FailingStream(int capacity) {
      this.capacity = capacity;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      writes++;
      if (kept.size() + len > capacity) {
        throw new IOException("disk full");
      }
      kept.write(b, off, len);
    }

    @Override
    public void close() {
      closed = true;
    }
  }
}
