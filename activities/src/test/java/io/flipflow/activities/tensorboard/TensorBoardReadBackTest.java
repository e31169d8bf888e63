package io.flipflow.activities.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What TensorBoard itself reads back from flipflow's event files: bench/tensorboard/read_events.py
 * reads each record strictly with the tensorboard package's TFRecord reader (CRCs checked) and
 * parses it as tensorboard.Event, then loads the folder with EventAccumulator (and with
 * plugin_event_accumulator, the scalars dashboard's path). Every value must come back as written
 * (rounded to float32, as simple_value is), at its step and wall time.
 */
class TensorBoardReadBackTest {

  /** One step's training metrics, deterministic and covering the awkward values. */
  private static Map<String, Double> trainingMetrics(int step) {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("train/loss", step == 7 ? Double.NaN : 4.2 * Math.exp(-step / 30.0));
    m.put("train/learning_rate", step == 0 ? 0.0 : 5e-4 * Math.min(1.0, step / 10.0));
    m.put("train/logit_scale", Math.log(1 / 0.07) + step * 1e-3);
    m.put("train/samples_per_second", step == 3 ? Double.POSITIVE_INFINITY : 812.5 + step);
    m.put("train/step_time_seconds", step == 5 ? -0.0 : 0.25 + 1e-9 * step);
    return m;
  }

  /** tag -> (step -> [wall time, value]) as written, values rounded as the file holds them. */
  private static void record(
      Map<String, TreeMap<Long, double[]>> into, long step, Map<String, Double> values, double t) {
    values.forEach(
        (tag, v) ->
            into.computeIfAbsent(tag, k -> new TreeMap<>())
                .put(step, new double[] {t, (double) (float) v.doubleValue()}));
  }

  private static void assertSeries(
      Map<String, TreeMap<Long, double[]>> expected, JsonObject series, String reader) {
    assertEquals(expected.keySet(), series.keySet(), reader + " tags");
    expected.forEach(
        (tag, points) -> {
          JsonArray got = series.getAsJsonArray(tag);
          assertEquals(points.size(), got.size(), reader + " " + tag + " point count");
          int i = 0;
          for (Map.Entry<Long, double[]> p : points.entrySet()) {
            JsonArray g = got.get(i++).getAsJsonArray();
            String where = reader + " " + tag + " step " + p.getKey();
            assertEquals(p.getValue()[0], g.get(0).getAsDouble(), where + " wall time");
            assertEquals(p.getKey().longValue(), g.get(1).getAsLong(), where + " step");
            // exact, bit for bit (NaN equals NaN, -0.0 differs from 0.0 here)
            assertEquals(
                Double.doubleToLongBits(p.getValue()[1]),
                Double.doubleToLongBits(g.get(2).getAsDouble()),
                where + " value " + p.getValue()[1] + " read " + g.get(2));
          }
        });
  }

  private static void assertCleanRecords(JsonObject read) {
    assertEquals(0, read.getAsJsonArray("errors").size(), read.get("errors").toString());
    for (JsonElement f : read.getAsJsonArray("files")) {
      JsonArray records = f.getAsJsonObject().getAsJsonArray("records");
      JsonObject first = records.get(0).getAsJsonObject();
      assertEquals("file_version", first.get("what").getAsString());
      assertEquals("brain.Event:2", first.get("file_version").getAsString());
      assertEquals("START", records.get(1).getAsJsonObject().get("session_status").getAsString());
      for (JsonElement r : records) {
        assertEquals(0, r.getAsJsonObject().get("unknown_fields").getAsInt(), r.toString());
      }
    }
    assertEquals(2.0, read.getAsJsonObject("accumulator").get("file_version").getAsDouble());
  }

  @Test
  void tensorBoardReadsTrainingAndEvaluationScalarsAsWritten(@TempDir Path logdir)
      throws Exception {
    TensorBoardVenv.assumeInstalled();
    Map<String, TreeMap<Long, double[]>> train = new TreeMap<>();
    try (TensorBoardWriter tb = TensorBoardWriter.open(logdir, "flip-1/pretrain", 0)) {
      for (int step = 0; step < 60; step++) {
        double t = 1767225600.0 + step * 0.37;
        Map<String, Double> m = trainingMetrics(step);
        if (step % 2 == 0) {
          tb.scalars(step, m, t); // one event per step
        } else {
          for (Map.Entry<String, Double> e : m.entrySet()) {
            tb.scalar(e.getKey(), step, e.getValue(), t); // one event per value
          }
        }
        record(train, step, m, t);
      }
    }
    Map<String, TreeMap<Long, double[]>> eval = new TreeMap<>();
    try (TensorBoardWriter tb = TensorBoardWriter.open(logdir, "flip-1/eval", 59)) {
      Map<String, Double> m = new LinkedHashMap<>();
      m.put("eval/cifar10/top1", 0.4375);
      m.put("eval/cifar10/top5", 0.890625);
      m.put("eval/flickr30k/image_to_text_recall@5", 0.123456789);
      tb.scalars(59, m, 1767225700.5);
      record(eval, 59, m, 1767225700.5);
    }

    JsonObject read =
        TensorBoardVenv.run("read_events.py", logdir.resolve("flip-1/pretrain").toString());
    assertCleanRecords(read);
    assertEquals(2 + 30 + 30 * 5, records(read).size(), "events in the file");
    assertSeries(train, read.getAsJsonObject("accumulator").getAsJsonObject("scalars"), "acc");
    assertSeries(train, read.getAsJsonObject("plugin"), "plugin");

    JsonObject readEval =
        TensorBoardVenv.run("read_events.py", logdir.resolve("flip-1/eval").toString());
    assertCleanRecords(readEval);
    assertSeries(eval, readEval.getAsJsonObject("accumulator").getAsJsonObject("scalars"), "acc");
    assertSeries(eval, readEval.getAsJsonObject("plugin"), "plugin");
  }

  @Test
  void aResumedAttemptReplacesWhatTheLostOneWroteFromItsStepOn(@TempDir Path logdir)
      throws Exception {
    TensorBoardVenv.assumeInstalled();
    Map<String, TreeMap<Long, double[]>> expected = new TreeMap<>();
    // attempt 1 gets to step 29 and dies (flushed, never closed: the file just ends)
    TensorBoardWriter lost = TensorBoardWriter.open(logdir, "flip-2", 0);
    for (int step = 0; step < 30; step++) {
      lost.scalar("train/loss", step, 10.0 + step, 1000.0 + step);
      if (step < 20) {
        record(expected, step, Map.of("train/loss", 10.0 + step), 1000.0 + step);
      }
    }
    lost.flush();
    // attempt 2 resumes from the checkpoint at step 19 and redoes 20.. with other values
    try (TensorBoardWriter tb = TensorBoardWriter.open(logdir, "flip-2", 20)) {
      for (int step = 20; step < 40; step++) {
        tb.scalar("train/loss", step, -1.0 * step, 2000.0 + step);
        record(expected, step, Map.of("train/loss", -1.0 * step), 2000.0 + step);
      }
    }
    JsonObject read = TensorBoardVenv.run("read_events.py", logdir.resolve("flip-2").toString());
    assertCleanRecords(read);
    assertEquals(2, read.getAsJsonArray("files").size());
    assertSeries(expected, read.getAsJsonObject("accumulator").getAsJsonObject("scalars"), "acc");
    assertSeries(expected, read.getAsJsonObject("plugin"), "plugin");
    lost.close();
  }

  @Test
  void theReaderCatchesABadCrc(@TempDir Path logdir) throws Exception {
    // the check above would fail on a CRC bug: corrupt one data CRC and one length CRC
    TensorBoardVenv.assumeInstalled();
    Path file;
    try (TensorBoardWriter tb = TensorBoardWriter.open(logdir, "r", 0)) {
      for (int step = 0; step < 10; step++) {
        tb.scalar("train/loss", step, step, step);
      }
      file = tb.file();
    }
    byte[] good = Files.readAllBytes(file);
    byte[] badData = good.clone();
    badData[badData.length - 1] ^= 1; // the last record's data CRC
    Path a = Files.createDirectories(logdir.resolve("bad-data"));
    Files.write(a.resolve(file.getFileName()), badData);

    List<Integer> starts = recordStarts(good);
    byte[] badLength = good.clone();
    badLength[starts.get(6) + 8] ^= 0x10; // record 6's length CRC (the fifth scalar's)
    Path b = Files.createDirectories(logdir.resolve("bad-length"));
    Files.write(b.resolve(file.getFileName()), badLength);

    JsonObject readA = TensorBoardVenv.run("read_events.py", a.toString());
    assertTrue(
        readA.get("errors").toString().contains("failed event crc32 check"), readA.toString());
    assertEquals(11, records(readA).size(), "records before the bad one");
    assertEquals(
        9,
        readA
            .getAsJsonObject("accumulator")
            .getAsJsonObject("scalars")
            .getAsJsonArray("train/loss")
            .size());

    JsonObject readB = TensorBoardVenv.run("read_events.py", b.toString());
    assertTrue(
        readB.get("errors").toString().contains("failed header crc32 check"), readB.toString());
    assertEquals(6, records(readB).size());
    assertEquals(
        4,
        readB
            .getAsJsonObject("accumulator")
            .getAsJsonObject("scalars")
            .getAsJsonArray("train/loss")
            .size());
  }

  private static int lossPoints(JsonObject read) {
    JsonArray points =
        read.getAsJsonObject("accumulator").getAsJsonObject("scalars").getAsJsonArray("train/loss");
    assertNotNull(points, "EventAccumulator found no train/loss: " + read);
    return points.size();
  }

  private static JsonArray records(JsonObject read) {
    JsonArray all = new JsonArray();
    for (JsonElement f : read.getAsJsonArray("files")) {
      all.addAll(f.getAsJsonObject().getAsJsonArray("records"));
    }
    return all;
  }

  private static List<Integer> recordStarts(byte[] file) throws IOException {
    List<Integer> starts = new ArrayList<>();
    int at = 0;
    while (at < file.length) {
      starts.add(at);
      long length = 0;
      for (int i = 7; i >= 0; i--) {
        length = (length << 8) | (file[at + i] & 0xff);
      }
      at += TfRecord.OVERHEAD + (int) length;
    }
    if (at != file.length) {
      throw new IOException("framing does not add up");
    }
    return starts;
  }
}
