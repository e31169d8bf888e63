package io.flipflow.workflows.scale;

import com.google.protobuf.Message;
import io.temporal.api.common.v1.Payload;
import io.temporal.api.common.v1.Payloads;
import io.temporal.api.enums.v1.EventType;
import io.temporal.api.history.v1.History;
import io.temporal.api.history.v1.HistoryEvent;
import java.util.List;
import java.util.Map;

/**
 * What Temporal limits, measured on one execution's history: its event count and size, the largest
 * payload any event carries, and the most child workflows pending at once.
 *
 * @param events history events of the execution (Temporal's hard limit: 51,200)
 * @param historyBytes serialized size of the history (hard limit: 50 MiB)
 * @param maxPayloadBytes largest {@code Payloads} (one call's inputs or result) or single {@code
 *     Payload} in any event (blob limit: 2 MiB, warning at 512 KiB)
 * @param maxPendingChildren most children started and not yet closed at any point (default limit:
 *     2,000 per execution)
 */
record ExecutionFigures(
    int events, long historyBytes, long maxPayloadBytes, int maxPendingChildren) {

  static final int MAX_EVENTS = 51_200;
  static final long MAX_HISTORY_BYTES = 50L * 1024 * 1024;
  static final long MAX_PAYLOAD_BYTES = 2L * 1024 * 1024;
  static final long PAYLOAD_WARNING_BYTES = 512L * 1024;

  static ExecutionFigures of(History history) {
    long maxPayload = 0;
    int pending = 0;
    int maxPending = 0;
    for (HistoryEvent event : history.getEventsList()) {
      maxPayload = Math.max(maxPayload, largestPayload(event));
      EventType type = event.getEventType();
      if (type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) {
        maxPending = Math.max(maxPending, ++pending);
      } else if (closesChild(type)) {
        pending--;
      }
    }
    return new ExecutionFigures(
        history.getEventsCount(), history.getSerializedSize(), maxPayload, maxPending);
  }

  private static boolean closesChild(EventType type) {
    return switch (type) {
      case EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
          EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
          EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
          EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
          EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
          EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED ->
          true;
      default -> false;
    };
  }

  /**
   * The largest payload anywhere in a message. Walks the protobuf generically because payloads sit
   * in a different field of each event type (input, result, heartbeat details, memo, search
   * attributes, failure details).
   */
  static long largestPayload(Message message) {
    long largest =
        message instanceof Payloads || message instanceof Payload ? message.getSerializedSize() : 0;
    for (Map.Entry<com.google.protobuf.Descriptors.FieldDescriptor, Object> field :
        message.getAllFields().entrySet()) {
      Object value = field.getValue();
      if (value instanceof Message child) {
        largest = Math.max(largest, largestPayload(child));
      } else if (value instanceof List<?> list) {
        for (Object item : list) {
          if (item instanceof Message child) {
            largest = Math.max(largest, largestPayload(child));
          }
        }
      }
    }
    return largest;
  }

  /** The largest of each figure over several executions. */
  static ExecutionFigures max(List<ExecutionFigures> all) {
    return new ExecutionFigures(
        all.stream().mapToInt(ExecutionFigures::events).max().orElse(0),
        all.stream().mapToLong(ExecutionFigures::historyBytes).max().orElse(0),
        all.stream().mapToLong(ExecutionFigures::maxPayloadBytes).max().orElse(0),
        all.stream().mapToInt(ExecutionFigures::maxPendingChildren).max().orElse(0));
  }

  /** The run id the execution continued as, or null when it closed otherwise. */
  static String continuedAs(History history) {
    HistoryEvent last = history.getEvents(history.getEventsCount() - 1);
    if (last.getEventType() != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW) {
      return null;
    }
    return last.getWorkflowExecutionContinuedAsNewEventAttributes().getNewExecutionRunId();
  }
}
