package io.flipflow.infra.local;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Environment for a test's own local stack: state under a temp folder, every port free. */
public final class LocalTestEnv {
  private LocalTestEnv() {}

  /**
   * @param temporalMode {@code memory} (in-memory Java server) or {@code dev} (the CLI's server)
   */
  public static Map<String, String> onFreePorts(Path project, String temporalMode) {
    Map<String, String> env = new HashMap<>();
    env.put("FLIPFLOW_STATE_DIR", project.resolve("state").toString());
    env.put("FLIPFLOW_POSTGRES_LOCAL_PORT", String.valueOf(Ports.freePort()));
    env.put("FLIPFLOW_S3_LOCAL_PORT", String.valueOf(Ports.freePort()));
    env.put("FLIPFLOW_TEMPORAL_LOCAL_PORT", String.valueOf(Ports.freePort()));
    env.put("FLIPFLOW_TEMPORAL_LOCAL_UI_PORT", String.valueOf(Ports.freePort()));
    env.put("FLIPFLOW_TEMPORAL_LOCAL_SERVER", temporalMode);
    return env;
  }
}
