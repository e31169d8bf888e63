package io.flipflow.activities.tensorboard;

import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** A strict Java reader of event files for the tests that run without Python. */
final class EventFiles {
  private EventFiles() {}

  /** The event files of a run folder, in name order (TensorBoard's reading order). */
  static List<Path> list(Path runDir) throws IOException {
    try (Stream<Path> files = Files.list(runDir)) {
      return files
          .filter(p -> p.getFileName().toString().startsWith("events.out.tfevents."))
          .sorted()
          .toList();
    }
  }

  /** Every record of {@code file}, CRCs checked, parsed as Events; throws on any damage. */
  static List<DynamicMessage> read(Path file) throws IOException {
    ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    List<DynamicMessage> events = new ArrayList<>();
    while (in.hasRemaining()) {
      if (in.remaining() < 12) {
        throw new IOException(file + ": torn header at " + in.position());
      }
      byte[] header = new byte[8];
      in.get(header);
      int headerCrc = in.getInt();
      if (headerCrc != TfRecord.maskedCrc32c(header, 0, 8)) {
        throw new IOException(file + ": length CRC mismatch in record " + events.size());
      }
      long length = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getLong();
      if (length > in.remaining() - 4) {
        throw new IOException(file + ": torn record " + events.size());
      }
      byte[] data = new byte[(int) length];
      in.get(data);
      if (in.getInt() != TfRecord.maskedCrc32c(data, 0, data.length)) {
        throw new IOException(file + ": data CRC mismatch in record " + events.size());
      }
      events.add(parse(data));
    }
    return events;
  }

  static DynamicMessage parse(byte[] data) throws InvalidProtocolBufferException {
    return DynamicMessage.parseFrom(EventSchema.EVENT, data);
  }
}
