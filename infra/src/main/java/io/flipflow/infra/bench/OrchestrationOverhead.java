package io.flipflow.infra.bench;

import com.google.protobuf.Timestamp;
import io.temporal.api.enums.v1.EventType;
import io.temporal.api.history.v1.HistoryEvent;
import io.temporal.client.WorkflowClient;
import io.temporal.common.WorkflowExecutionHistory;
import java.util.HashMap;
import java.util.Map;

/**
 * What Temporal costs a pipeline: its wall time minus the time its activities ran (from started to
 * completed/failed, per the workflow's own history), as a share of the wall time. Activities of the
 * pipeline run one after another, so the rest is scheduling, recording and workflow tasks.
 */
public final class OrchestrationOverhead {
  public record Figures(
      String workflowId, double wallSeconds, double activitySeconds, int activities) {
    public double overheadSeconds() {
      return wallSeconds - activitySeconds;
    }

    public double overheadShare() {
      return wallSeconds <= 0 ? 0 : overheadSeconds() / wallSeconds;
    }
  }

  private OrchestrationOverhead() {}

  public static Figures of(WorkflowClient client, String workflowId) {
    WorkflowExecutionHistory history = client.fetchHistory(workflowId);
    Timestamp first = null;
    Timestamp last = null;
    Map<Long, Timestamp> started = new HashMap<>();
    double activitySeconds = 0;
    int activities = 0;
    for (HistoryEvent e : history.getEvents()) {
      if (first == null) {
        first = e.getEventTime();
      }
      last = e.getEventTime();
      if (e.getEventType() == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
        started.put(e.getEventId(), e.getEventTime());
      } else if (e.getEventType() == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
        Timestamp s = started.get(e.getActivityTaskCompletedEventAttributes().getStartedEventId());
        activitySeconds += seconds(s, e.getEventTime());
        activities++;
      } else if (e.getEventType() == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED) {
        Timestamp s = started.get(e.getActivityTaskFailedEventAttributes().getStartedEventId());
        activitySeconds += seconds(s, e.getEventTime());
        activities++;
      }
    }
    return new Figures(workflowId, seconds(first, last), activitySeconds, activities);
  }

  private static double seconds(Timestamp a, Timestamp b) {
    if (a == null || b == null) {
      return 0;
    }
    return (b.getSeconds() - a.getSeconds()) + (b.getNanos() - a.getNanos()) / 1e9;
  }
}
