package io.flipflow.infra.config;

import io.flipflow.db.Database;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * flipflow's settings: {@code config/flipflow.properties}, then the file named by {@code
 * FLIPFLOW_CONFIG}, then environment variables ({@code temporal.address} is read from {@code
 * FLIPFLOW_TEMPORAL_ADDRESS}), later sources winning. A service whose address is left empty is the
 * local default that {@code flipflow up} starts.
 */
public final class FlipflowConfig {
  private final Properties props;
  private final Map<String, String> env;

  FlipflowConfig(Properties props, Map<String, String> env) {
    this.props = props;
    this.env = env;
  }

  /** Loads from the project folder (where {@code config/} lives) and the process environment. */
  public static FlipflowConfig load(Path projectDir) {
    return load(projectDir, System.getenv());
  }

  public static FlipflowConfig load(Path projectDir, Map<String, String> env) {
    Properties p = new Properties();
    readInto(p, projectDir.resolve("config/flipflow.properties"), false);
    String extra = env.get("FLIPFLOW_CONFIG");
    if (extra != null && !extra.isBlank()) {
      readInto(p, Path.of(extra), true);
    }
    String stateFromEnv = env.get(envName("state.dir"));
    if (stateFromEnv != null && !stateFromEnv.isBlank()) {
      p.setProperty("state.dir", stateFromEnv); // as every other key: the environment wins
    }
    if (!p.containsKey("state.dir")) {
      p.setProperty("state.dir", projectDir.resolve(".flipflow").toString());
    }
    Path state = Path.of(p.getProperty("state.dir"));
    if (!state.isAbsolute()) {
      p.setProperty("state.dir", projectDir.resolve(state).normalize().toString());
    }
    return new FlipflowConfig(p, env);
  }

  private static void readInto(Properties p, Path file, boolean required) {
    if (!Files.exists(file)) {
      if (required) {
        throw new IllegalArgumentException(
            "FLIPFLOW_CONFIG names " + file + ", which does not exist");
      }
      return;
    }
    try (Reader r = Files.newBufferedReader(file)) {
      p.load(r);
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "cannot read config file " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * The environment variable that overrides a key: temporal.address -> FLIPFLOW_TEMPORAL_ADDRESS.
   */
  public static String envName(String key) {
    return "FLIPFLOW_" + key.toUpperCase(Locale.ROOT).replace('.', '_');
  }

  public Optional<String> get(String key) {
    String v = env.get(envName(key));
    if (v == null) {
      v = props.getProperty(key);
    }
    return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
  }

  public String get(String key, String fallback) {
    return get(key).orElse(fallback);
  }

  public int getInt(String key, int fallback) {
    Optional<String> v = get(key);
    if (v.isEmpty()) {
      return fallback;
    }
    try {
      int n = Integer.parseInt(v.get());
      if (n < 0) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "config key "
              + key
              + " (env "
              + envName(key)
              + ") must be a non-negative integer, got '"
              + v.get()
              + "'");
    }
  }

  public boolean getBoolean(String key, boolean fallback) {
    Optional<String> v = get(key);
    if (v.isEmpty()) {
      return fallback;
    }
    return switch (v.get().toLowerCase(Locale.ROOT)) {
      case "true", "yes", "1" -> true;
      case "false", "no", "0" -> false;
      default ->
          throw new IllegalArgumentException(
              "config key " + key + " must be true or false, got '" + v.get() + "'");
    };
  }

  /**
   * A duration: {@code 500ms}, {@code 30s}, {@code 10m}, {@code 1h}, or a bare number of seconds.
   */
  public Duration getDuration(String key, Duration fallback) {
    Optional<String> v = get(key);
    if (v.isEmpty()) {
      return fallback;
    }
    String t = v.get().toLowerCase(Locale.ROOT).replace(" ", "");
    try {
      long n;
      if (t.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
      } else if (t.endsWith("s")) {
        n = Long.parseLong(t.substring(0, t.length() - 1));
      } else if (t.endsWith("m")) {
        n = Math.multiplyExact(Long.parseLong(t.substring(0, t.length() - 1)), 60);
      } else if (t.endsWith("h")) {
        n = Math.multiplyExact(Long.parseLong(t.substring(0, t.length() - 1)), 3600);
      } else {
        n = Long.parseLong(t);
      }
      return Duration.ofSeconds(n);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException(
          "config key "
              + key
              + " (env "
              + envName(key)
              + ") must be a duration like 500ms, 30s, 10m or 1h, got '"
              + v.get()
              + "'");
    }
  }

  public Path stateDir() {
    return Path.of(props.getProperty("state.dir"));
  }

  /**
   * {@code tensorboard.dir}: where workers write TensorBoard event files of their runs (default
   * {@code STATE_DIR/tensorboard}); {@code off} writes none. Absolute, so it can be printed.
   */
  public Optional<Path> tensorboardDir() {
    String v = get("tensorboard.dir").orElse("").trim();
    if (v.equalsIgnoreCase("off")) {
      return Optional.empty();
    }
    return Optional.of(
        (v.isEmpty() ? stateDir().resolve("tensorboard") : Path.of(v)).toAbsolutePath());
  }

  // --- Temporal ---

  public boolean temporalIsLocal() {
    return get("temporal.address").isEmpty();
  }

  public int temporalLocalPort() {
    return getInt("temporal.local.port", 7233);
  }

  public int temporalUiPort() {
    return getInt("temporal.local.ui.port", 8233);
  }

  public String temporalAddress() {
    return get("temporal.address").orElse("127.0.0.1:" + temporalLocalPort());
  }

  public String temporalNamespace() {
    return get("temporal.namespace", "default");
  }

  // --- PostgreSQL ---

  public boolean postgresIsLocal() {
    return get("postgres.url").isEmpty();
  }

  public int postgresLocalPort() {
    return getInt("postgres.local.port", 5433);
  }

  public String postgresUrl() {
    return get("postgres.url")
        .orElse("jdbc:postgresql://127.0.0.1:" + postgresLocalPort() + "/flipflow");
  }

  public String postgresUser() {
    return get("postgres.user", postgresIsLocal() ? "postgres" : null);
  }

  /**
   * Never printed or passed to workflows; read where a connection is made. For the embedded
   * PostgreSQL without one configured: the password {@code flipflow up} generated in the state
   * folder ({@link LocalSecrets}); an {@link IllegalStateException} naming the file if it has not
   * made one yet.
   */
  public String postgresPassword() {
    return get("postgres.password")
        .or(
            () ->
                postgresIsLocal() ? localSecret(LocalSecrets.POSTGRES_PASSWORD) : Optional.empty())
        .orElse("");
  }

  /** Whether {@code postgres.password} is set (else the local stack generates one). */
  public boolean postgresPasswordIsConfigured() {
    return get("postgres.password").isPresent();
  }

  /**
   * The pool and its timeouts ({@code postgres.pool.*}, {@code postgres.*Timeout}), defaults in
   * {@link Database.Settings#DEFAULTS}.
   */
  public Database.Settings postgresSettings() {
    Database.Settings d = Database.Settings.DEFAULTS;
    int poolSize = getInt("postgres.pool.size", d.poolSize());
    return new Database.Settings(
        poolSize,
        getDuration("postgres.connectTimeout", d.connectTimeout()),
        getDuration("postgres.socketTimeout", d.socketTimeout()),
        getDuration("postgres.statementTimeout", d.statementTimeout()),
        getDuration("postgres.lockTimeout", d.lockTimeout()),
        getDuration("postgres.pool.waitTimeout", d.poolWaitTimeout()),
        getDuration("postgres.migrationTimeout", d.migrationTimeout()));
  }

  // --- S3 ---

  public boolean s3IsLocal() {
    return get("s3.endpoint").isEmpty() && !getBoolean("s3.aws", false);
  }

  public int s3LocalPort() {
    return getInt("s3.local.port", 9000);
  }

  /** Empty for AWS itself (the SDK picks the regional endpoint). */
  public Optional<String> s3Endpoint() {
    if (s3IsLocal()) {
      return Optional.of("http://127.0.0.1:" + s3LocalPort());
    }
    return get("s3.endpoint");
  }

  public String s3Region() {
    return get("s3.region", "us-east-1");
  }

  /**
   * Keys as configured; for the local store without them, the keys {@code flipflow up} generated in
   * the state folder ({@link LocalSecrets}); for a real one empty, so the AWS default provider
   * chain is used.
   */
  public Optional<String> s3AccessKey() {
    return get("s3.accessKey")
        .or(() -> s3IsLocal() ? localSecret(LocalSecrets.S3_ACCESS_KEY) : Optional.empty());
  }

  public Optional<String> s3SecretKey() {
    return get("s3.secretKey")
        .or(() -> s3IsLocal() ? localSecret(LocalSecrets.S3_SECRET_KEY) : Optional.empty());
  }

  /**
   * A secret of the local stack; without it nothing could log in, so its absence is said here, with
   * what to do, rather than as a refused login later.
   */
  private Optional<String> localSecret(String key) {
    Optional<String> v = LocalSecrets.read(stateDir()).flatMap(s -> s.get(key));
    if (v.isEmpty()) {
      throw new IllegalStateException(
          "the local stack's "
              + key
              + " is made by `./flipflow up` in "
              + stateDir().resolve(LocalSecrets.FILE)
              + ", which has none yet: start the local stack first, or configure "
              + key
              + " (env "
              + envName(key)
              + ")");
    }
    return v;
  }

  public String s3Bucket() {
    return get("s3.bucket", "flipflow");
  }
}
