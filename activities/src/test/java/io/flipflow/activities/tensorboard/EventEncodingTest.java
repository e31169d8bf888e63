package io.flipflow.activities.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * flipflow's event encoding against the tensorboard package's own: byte for byte against records
 * that tensorboard 2.21.0's event_pb2 and RecordWriter produced (bench/tensorboard/reference.py
 * prints them; {@link #theGoldenBytesAreTensorBoardsOwn} checks they still are), and field for
 * field against its compiled descriptors. The byte comparison runs without Python, so a wrong field
 * number, wire type, oneof or CRC fails the build everywhere.
 */
class EventEncodingTest {

  /** reference.py's "framed", in its order. */
  static final List<String> GOLDEN =
      List.of(
          "1800000000000000a37f4b2209000020406e55da411a0d627261696e2e4576656e743a3284ffcb71",
          "1e00000000000000d9dc123209000050406e55da412a130a110a0a747261696e2f6c6f7373150000000077"
              + "6fc156",
          "5000000000000000940f9b8209000088406e55da411094b4e4f4cb032a3e0a110a0a747261696e2f6c6f"
              + "7373158e5d13400a0f0a08747261696e2f6c721552499d390a180a11747261696e2f6c6f6769745f73"
              + "63616c65150000c0bfec25ac67",
          "0f000000000000006d532b09090000c0406e55da4110283a020801bc30a441");

  /** The same four events, encoded by flipflow. */
  static List<String> ours() {
    Map<String, Double> three = new LinkedHashMap<>();
    three.put("train/loss", 2.302585092994046);
    three.put("train/lr", 3e-4);
    three.put("train/logit_scale", -1.5);
    return List.of(
            EventSchema.fileVersionEvent(1767225600.5),
            EventSchema.scalarsEvent(0, 1767225601.25, Map.of("train/loss", 0.0)),
            EventSchema.scalarsEvent(123456789012L, 1767225602.125, three),
            EventSchema.sessionStartEvent(40, 1767225603.0))
        .stream()
        .map(data -> HexFormat.of().formatHex(TfRecord.frame(data)))
        .toList();
  }

  @Test
  void recordsMatchTensorBoardsByteForByte() {
    List<String> ours = ours();
    for (int i = 0; i < GOLDEN.size(); i++) {
      assertEquals(GOLDEN.get(i), ours.get(i), "record " + i);
    }
  }

  @Test
  void theMaskedCrcIsTensorFlows() {
    byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
    // CRC-32C's check value is 0xe3069283; masked, tensorboard's masked_crc32c gives 0xc78ab0e5
    assertEquals(0xc78ab0e5, TfRecord.maskedCrc32c(check, 0, check.length));
  }

  @Test
  void theGoldenBytesAreTensorBoardsOwn() throws Exception {
    TensorBoardVenv.assumeInstalled();
    JsonObject reference = TensorBoardVenv.run("reference.py");
    JsonArray framed = reference.getAsJsonArray("framed");
    assertEquals(GOLDEN.size(), framed.size());
    for (int i = 0; i < GOLDEN.size(); i++) {
      assertEquals(framed.get(i).getAsString(), GOLDEN.get(i), "golden record " + i);
    }
  }

  @Test
  void everyFieldWeWriteHasTensorBoardsNumberTypeAndOneof() throws Exception {
    TensorBoardVenv.assumeInstalled();
    JsonObject reference = TensorBoardVenv.run("reference.py");
    JsonObject fields = reference.getAsJsonObject("fields");
    for (Descriptor message :
        List.of(
            EventSchema.EVENT, EventSchema.SESSION_LOG, EventSchema.SUMMARY, EventSchema.VALUE)) {
      JsonObject theirs = fields.getAsJsonObject(message.getFullName());
      assertNotNull(theirs, "tensorboard has no message " + message.getFullName());
      for (FieldDescriptor f : message.getFields()) {
        JsonArray t = theirs.getAsJsonArray(f.getName());
        assertNotNull(t, message.getFullName() + " has no field " + f.getName());
        String where = message.getFullName() + "." + f.getName();
        assertEquals(t.get(0).getAsInt(), f.getNumber(), where + " number");
        assertEquals(t.get(1).getAsInt(), f.toProto().getType().getNumber(), where + " type");
        String oneof = t.get(2).isJsonNull() ? null : t.get(2).getAsString();
        assertEquals(
            oneof,
            f.getRealContainingOneof() == null ? null : f.getRealContainingOneof().getName(),
            where + " oneof");
      }
    }
    JsonObject status = reference.getAsJsonObject("status");
    for (var v : EventSchema.SESSION_LOG.findEnumTypeByName("SessionStatus").getValues()) {
      assertEquals(status.get(v.getName()).getAsInt(), v.getNumber(), "SessionStatus." + v);
    }
  }
}
