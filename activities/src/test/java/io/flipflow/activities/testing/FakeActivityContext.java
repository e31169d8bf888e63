package io.flipflow.activities.testing;

import io.temporal.activity.ActivityExecutionContext;
import io.temporal.activity.ActivityInfo;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * An activity context for driving a stage without a Temporal server: heartbeats are counted and may
 * throw what Temporal would (cancelled, attempt timed out, worker shutting down) from the n-th on.
 * Only what the heartbeater and the stage use is answered.
 */
public final class FakeActivityContext {
  public final AtomicInteger heartbeats = new AtomicInteger();
  private volatile IntFunction<RuntimeException> onHeartbeat = n -> null;

  /** From now on, heartbeat number n (counting from 1) throws what {@code f} returns, if any. */
  public void onHeartbeat(IntFunction<RuntimeException> f) {
    onHeartbeat = f;
  }

  public ActivityExecutionContext context() {
    ActivityInfo info =
        (ActivityInfo)
            Proxy.newProxyInstance(
                ActivityInfo.class.getClassLoader(),
                new Class<?>[] {ActivityInfo.class},
                (proxy, method, args) ->
                    switch (method.getName()) {
                      case "getHeartbeatTimeout" -> Duration.ofMillis(600);
                      case "getActivityType" -> "Train";
                      case "getActivityId" -> "test-activity";
                      case "getWorkflowId" -> "test-workflow";
                      case "getAttempt" -> 1;
                      case "toString" -> "FakeActivityInfo";
                      default -> defaultValue(method.getReturnType());
                    });
    return (ActivityExecutionContext)
        Proxy.newProxyInstance(
            ActivityExecutionContext.class.getClassLoader(),
            new Class<?>[] {ActivityExecutionContext.class},
            (proxy, method, args) ->
                switch (method.getName()) {
                  case "getInfo" -> info;
                  case "heartbeat" -> {
                    RuntimeException e = onHeartbeat.apply(heartbeats.incrementAndGet());
                    if (e != null) {
                      throw e;
                    }
                    yield null;
                  }
                  case "getHeartbeatDetails" -> Optional.empty();
                  case "toString" -> "FakeActivityContext";
                  default -> defaultValue(method.getReturnType());
                });
  }

  private static Object defaultValue(Class<?> type) {
    if (type == boolean.class) {
      return false;
    }
    if (type == int.class || type == long.class || type == short.class || type == byte.class) {
      return 0;
    }
    if (type == double.class || type == float.class) {
      return 0.0;
    }
    if (type == Optional.class) {
      return Optional.empty();
    }
    return null;
  }
}
