package io.flipflow.infra.local;

import io.flipflow.db.Database;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.LocalSecrets;
import io.flipflow.infra.config.Services;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local default: every service the configuration leaves without an external address, started on
 * 127.0.0.1 with data under the state folder. If one fails to start, those already started are
 * stopped again, so nothing is left half-up.
 *
 * <p>The embedded PostgreSQL and S3 take secrets made once per state folder ({@link LocalSecrets});
 * for psql there is a libpq password file {@value #PGPASS} beside them, and {@code s3.env} for the
 * aws CLI, both mode 0600. Services with configured addresses or secrets are used as configured.
 */
public final class LocalStack implements AutoCloseable {
  /** The libpq password file in the state folder. */
  public static final String PGPASS = "pgpass";

  private static final Logger log = LoggerFactory.getLogger(LocalStack.class);
  private final List<LocalService> started;
  private final LocalTemporal temporal;
  private final LocalPostgres postgres;
  private final LocalS3 s3;

  private LocalStack(
      List<LocalService> started, LocalTemporal temporal, LocalPostgres postgres, LocalS3 s3) {
    this.started = started;
    this.temporal = temporal;
    this.postgres = postgres;
    this.s3 = s3;
  }

  public static LocalStack start(FlipflowConfig config, Map<String, String> searchAttributes) {
    Path state = config.stateDir();
    List<LocalService> started = new ArrayList<>();
    LocalTemporal temporal = null;
    LocalPostgres postgres = null;
    LocalS3 s3 = null;
    try {
      // made once per state folder, before anything that uses them (config reads them from there)
      LocalSecrets secrets =
          config.postgresIsLocal() || config.s3IsLocal() ? LocalSecrets.loadOrCreate(state) : null;
      if (config.postgresIsLocal()) {
        postgres =
            LocalPostgres.start(
                state.resolve("postgres"), config.postgresLocalPort(), config.postgresPassword());
        started.add(postgres);
      }
      try (Database db = Services.database(config)) {
        db.migrate();
      }
      if (postgres != null) {
        String analyst = secrets.get(LocalSecrets.ANALYST_PASSWORD).orElseThrow();
        postgres.ensureAnalystLogin(analyst);
        postgres.writePgpass(
            state.resolve(PGPASS),
            config.postgresPasswordIsConfigured()
                ? Optional.empty()
                : Optional.of(config.postgresPassword()),
            analyst);
      }
      if (config.s3IsLocal()) {
        s3 =
            LocalS3.start(
                state.resolve("s3"),
                config.s3LocalPort(),
                config.s3AccessKey().orElseThrow(),
                config.s3SecretKey().orElseThrow(),
                config.s3Bucket());
        started.add(s3);
      }
      if (config.temporalIsLocal()) {
        temporal =
            LocalTemporal.start(
                config.get("temporal.local.server", "auto"),
                state,
                config.temporalLocalPort(),
                config.temporalUiPort(),
                searchAttributes);
        started.add(temporal);
      }
      return new LocalStack(started, temporal, postgres, s3);
    } catch (RuntimeException e) {
      stopAll(started);
      throw e;
    }
  }

  public List<LocalService> services() {
    return List.copyOf(started);
  }

  public LocalTemporal temporal() {
    return temporal;
  }

  public LocalPostgres postgres() {
    return postgres;
  }

  public LocalS3 s3() {
    return s3;
  }

  @Override
  public void close() {
    stopAll(started);
  }

  private static void stopAll(List<LocalService> services) {
    for (int i = services.size() - 1; i >= 0; i--) {
      LocalService s = services.get(i);
      try {
        s.close();
      } catch (RuntimeException e) {
        log.warn("{} did not stop cleanly: {}", s.name(), e.getMessage());
      }
    }
    services.clear();
  }
}
