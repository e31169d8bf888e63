package io.flipflow.infra.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.db.Database;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code postgres.*} pool and timeout keys: defaults, file, environment, bad values. */
class PostgresSettingsTest {
  @TempDir Path project;

  @Test
  void theShippedConfigFileSaysWhatTheDefaultsAre() {
    // the project's own config/flipflow.properties, one folder up from this module
    Path root = Path.of("").toAbsolutePath().getParent();
    assertTrue(Files.exists(root.resolve("config/flipflow.properties")), root.toString());
    assertEquals(
        Database.Settings.DEFAULTS, FlipflowConfig.load(root, Map.of()).postgresSettings());
    assertEquals(
        Database.Settings.DEFAULTS, FlipflowConfig.load(project, Map.of()).postgresSettings());
  }

  @Test
  void keysFromTheFileAndTheEnvironmentWithUnits() throws Exception {
    Files.createDirectories(project.resolve("config"));
    Files.writeString(
        project.resolve("config/flipflow.properties"),
        "postgres.pool.size=4\npostgres.statementTimeout=2m\npostgres.lockTimeout=500ms\n"
            + "postgres.socketTimeout=150\n");
    Map<String, String> env = new HashMap<>();
    env.put("FLIPFLOW_POSTGRES_CONNECTTIMEOUT", "3s");
    env.put("FLIPFLOW_POSTGRES_POOL_WAITTIMEOUT", "1s");
    env.put("FLIPFLOW_POSTGRES_MIGRATIONTIMEOUT", "1h");
    Database.Settings s = FlipflowConfig.load(project, env).postgresSettings();
    assertEquals(
        new Database.Settings(
            4,
            Duration.ofSeconds(3),
            Duration.ofSeconds(150),
            Duration.ofMinutes(2),
            Duration.ofMillis(500),
            Duration.ofSeconds(1),
            Duration.ofHours(1)),
        s);
  }

  @Test
  void badValuesNameTheKey() {
    Map<String, String> env = new HashMap<>();
    env.put("FLIPFLOW_POSTGRES_LOCKTIMEOUT", "soon");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> FlipflowConfig.load(project, env).postgresSettings());
    assertTrue(e.getMessage().contains("postgres.lockTimeout"), e.getMessage());
    assertTrue(e.getMessage().contains("FLIPFLOW_POSTGRES_LOCKTIMEOUT"), e.getMessage());

    env.clear();
    env.put("FLIPFLOW_POSTGRES_STATEMENTTIMEOUT", "60s");
    IllegalArgumentException socket =
        assertThrows(
            IllegalArgumentException.class,
            () -> FlipflowConfig.load(project, env).postgresSettings());
    assertTrue(socket.getMessage().contains("postgres.socketTimeout"), socket.getMessage());

    env.clear();
    env.put("FLIPFLOW_POSTGRES_LOCKTIMEOUT", "0s");
    IllegalArgumentException off =
        assertThrows(
            IllegalArgumentException.class,
            () -> FlipflowConfig.load(project, env).postgresSettings());
    assertTrue(off.getMessage().contains("postgres.lockTimeout"), off.getMessage());
  }
}
