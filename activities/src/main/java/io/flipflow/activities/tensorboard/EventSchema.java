package io.flipflow.activities.tensorboard;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Label;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.OneofDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.DynamicMessage;
import java.util.Map;

/**
 * The part of TensorBoard's event format that flipflow writes, as protobuf descriptors built at
 * class load and encoded by protobuf-java's {@link DynamicMessage} (no generated code, so no protoc
 * in the build).
 *
 * <p>Source format: {@code tensorboard/compat/proto/event.proto} and {@code summary.proto} of the
 * tensorboard repository (copies of TensorFlow's {@code core/util/event.proto} and {@code
 * core/framework/summary.proto}), proto3, package {@code tensorboard}. Field names and numbers
 * below are those files' (checked against the descriptors of the {@code tensorboard} 2.21.0 wheel);
 * the subset, written for flipflow, is:
 *
 * <pre>
 * message Event {
 *   double wall_time = 1;
 *   int64 step = 2;
 *   oneof what {
 *     string file_version = 3;
 *     Summary summary = 5;
 *     SessionLog session_log = 7;
 *   }
 * }
 * message SessionLog {
 *   enum SessionStatus { STATUS_UNSPECIFIED = 0; START = 1; STOP = 2; CHECKPOINT = 3; }
 *   SessionStatus status = 1;
 * }
 * message Summary {
 *   message Value {
 *     string tag = 1;
 *     oneof value { float simple_value = 2; }
 *   }
 *   repeated Value value = 1;
 * }
 * </pre>
 *
 * The oneofs matter on the wire: a proto3 field inside a oneof is written even when it holds its
 * default, so a scalar of exactly 0.0 still reaches the reader (which looks for {@code
 * HasField("simple_value")}); a plain proto3 float of 0.0 would be left out and the point lost.
 */
final class EventSchema {
  /** What TensorBoard expects in the first record of every event file. */
  static final String FILE_VERSION = "brain.Event:2";

  static final Descriptor EVENT;
  static final Descriptor SUMMARY;
  static final Descriptor VALUE;
  static final Descriptor SESSION_LOG;

  static final FieldDescriptor EVENT_WALL_TIME;
  static final FieldDescriptor EVENT_STEP;
  static final FieldDescriptor EVENT_FILE_VERSION;
  static final FieldDescriptor EVENT_SUMMARY;
  static final FieldDescriptor EVENT_SESSION_LOG;
  static final FieldDescriptor SUMMARY_VALUE;
  static final FieldDescriptor VALUE_TAG;
  static final FieldDescriptor VALUE_SIMPLE_VALUE;
  static final FieldDescriptor SESSION_LOG_STATUS;
  static final EnumValueDescriptor SESSION_START;

  static {
    DescriptorProto value =
        DescriptorProto.newBuilder()
            .setName("Value")
            .addField(field("tag", 1, Type.TYPE_STRING))
            .addField(field("simple_value", 2, Type.TYPE_FLOAT).setOneofIndex(0))
            .addOneofDecl(OneofDescriptorProto.newBuilder().setName("value"))
            .build();
    DescriptorProto summary =
        DescriptorProto.newBuilder()
            .setName("Summary")
            .addNestedType(value)
            .addField(
                field("value", 1, Type.TYPE_MESSAGE)
                    .setLabel(Label.LABEL_REPEATED)
                    .setTypeName(".tensorboard.Summary.Value"))
            .build();
    DescriptorProto sessionLog =
        DescriptorProto.newBuilder()
            .setName("SessionLog")
            .addEnumType(
                EnumDescriptorProto.newBuilder()
                    .setName("SessionStatus")
                    .addValue(enumValue("STATUS_UNSPECIFIED", 0))
                    .addValue(enumValue("START", 1))
                    .addValue(enumValue("STOP", 2))
                    .addValue(enumValue("CHECKPOINT", 3)))
            .addField(
                field("status", 1, Type.TYPE_ENUM)
                    .setTypeName(".tensorboard.SessionLog.SessionStatus"))
            .build();
    DescriptorProto event =
        DescriptorProto.newBuilder()
            .setName("Event")
            .addField(field("wall_time", 1, Type.TYPE_DOUBLE))
            .addField(field("step", 2, Type.TYPE_INT64))
            .addField(field("file_version", 3, Type.TYPE_STRING).setOneofIndex(0))
            .addField(
                field("summary", 5, Type.TYPE_MESSAGE)
                    .setTypeName(".tensorboard.Summary")
                    .setOneofIndex(0))
            .addField(
                field("session_log", 7, Type.TYPE_MESSAGE)
                    .setTypeName(".tensorboard.SessionLog")
                    .setOneofIndex(0))
            .addOneofDecl(OneofDescriptorProto.newBuilder().setName("what"))
            .build();
    FileDescriptorProto file =
        FileDescriptorProto.newBuilder()
            .setName("flipflow/tensorboard/event_subset.proto")
            .setPackage("tensorboard")
            .setSyntax("proto3")
            .addMessageType(event)
            .addMessageType(sessionLog)
            .addMessageType(summary)
            .build();
    FileDescriptor built;
    try {
      built = FileDescriptor.buildFrom(file, new FileDescriptor[0]);
    } catch (DescriptorValidationException e) {
      throw new ExceptionInInitializerError(e);
    }
    EVENT = built.findMessageTypeByName("Event");
    SESSION_LOG = built.findMessageTypeByName("SessionLog");
    SUMMARY = built.findMessageTypeByName("Summary");
    VALUE = SUMMARY.findNestedTypeByName("Value");
    EVENT_WALL_TIME = EVENT.findFieldByName("wall_time");
    EVENT_STEP = EVENT.findFieldByName("step");
    EVENT_FILE_VERSION = EVENT.findFieldByName("file_version");
    EVENT_SUMMARY = EVENT.findFieldByName("summary");
    EVENT_SESSION_LOG = EVENT.findFieldByName("session_log");
    SUMMARY_VALUE = SUMMARY.findFieldByName("value");
    VALUE_TAG = VALUE.findFieldByName("tag");
    VALUE_SIMPLE_VALUE = VALUE.findFieldByName("simple_value");
    SESSION_LOG_STATUS = SESSION_LOG.findFieldByName("status");
    SESSION_START = SESSION_LOG.findEnumTypeByName("SessionStatus").findValueByName("START");
  }

  private EventSchema() {}

  private static FieldDescriptorProto.Builder field(String name, int number, Type type) {
    return FieldDescriptorProto.newBuilder()
        .setName(name)
        .setNumber(number)
        .setType(type)
        .setLabel(Label.LABEL_OPTIONAL);
  }

  private static EnumValueDescriptorProto.Builder enumValue(String name, int number) {
    return EnumValueDescriptorProto.newBuilder().setName(name).setNumber(number);
  }

  /** The first event of a file: {@code file_version: "brain.Event:2"}. */
  static byte[] fileVersionEvent(double wallTime) {
    return DynamicMessage.newBuilder(EVENT)
        .setField(EVENT_WALL_TIME, wallTime)
        .setField(EVENT_FILE_VERSION, FILE_VERSION)
        .build()
        .toByteArray();
  }

  /**
   * One event holding a scalar per tag, each as {@code simple_value} (a float32: the value is
   * rounded to the nearest float, as TensorFlow's and PyTorch's writers do).
   */
  static byte[] scalarsEvent(long step, double wallTime, Map<String, Double> values) {
    DynamicMessage.Builder summary = DynamicMessage.newBuilder(SUMMARY);
    for (Map.Entry<String, Double> e : values.entrySet()) {
      summary.addRepeatedField(
          SUMMARY_VALUE,
          DynamicMessage.newBuilder(VALUE)
              .setField(VALUE_TAG, e.getKey())
              .setField(VALUE_SIMPLE_VALUE, (float) e.getValue().doubleValue())
              .build());
    }
    return DynamicMessage.newBuilder(EVENT)
        .setField(EVENT_WALL_TIME, wallTime)
        .setField(EVENT_STEP, step)
        .setField(EVENT_SUMMARY, summary.build())
        .build()
        .toByteArray();
  }

  /**
   * {@code session_log: {status: START}} at {@code step}: TensorBoard's marker of a restarted
   * process; readers drop what earlier files recorded at this step and after.
   */
  static byte[] sessionStartEvent(long step, double wallTime) {
    return DynamicMessage.newBuilder(EVENT)
        .setField(EVENT_WALL_TIME, wallTime)
        .setField(EVENT_STEP, step)
        .setField(
            EVENT_SESSION_LOG,
            DynamicMessage.newBuilder(SESSION_LOG)
                .setField(SESSION_LOG_STATUS, SESSION_START)
                .build())
        .build()
        .toByteArray();
  }
}
