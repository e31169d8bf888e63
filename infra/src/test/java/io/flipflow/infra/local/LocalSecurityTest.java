package io.flipflow.infra.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flipflow.db.Database;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.LocalSecrets;
import io.flipflow.infra.config.Services;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * The local stack trusts no one on the machine: PostgreSQL wants a password (SCRAM) for every
 * login, S3 wants its keys, both made once per state folder and kept in files only the owner can
 * read, and {@code flipflow up} tells how to use them without ever printing them.
 */
class LocalSecurityTest {
  /** The keys that were constants in the code before they were generated per state folder. */
  static final String OLD_ACCESS_KEY = "flipflow";

  static final String OLD_SECRET_KEY = "flipflow-local-secret";
  static final String OWNER_ONLY = "rw-------";

  @TempDir Path project;

  private static String url(FlipflowConfig config) {
    return config.postgresUrl();
  }

  private static Connection login(FlipflowConfig config, String user, String password)
      throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", user);
    if (password != null) {
      p.setProperty("password", password);
    }
    p.setProperty("connectTimeout", "10");
    return DriverManager.getConnection(url(config), p);
  }

  private static S3Client s3(FlipflowConfig config, String access, String secret) {
    return S3Client.builder()
        .endpointOverride(URI.create(config.s3Endpoint().orElseThrow()))
        .region(Region.of(config.s3Region()))
        .forcePathStyle(true)
        .credentialsProvider(
            StaticCredentialsProvider.create(AwsBasicCredentials.create(access, secret)))
        .build();
  }

  private static String mode(Path file) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
  }

  @Test
  void everyLoginNeedsItsSecretAndTheSecretFilesAreTheOwnersOnly() throws Exception {
    FlipflowConfig config =
        FlipflowConfig.load(project, LocalTestEnv.onFreePorts(project, "memory"));
    try (LocalStack stack = LocalStack.start(config, Map.of())) {
      Path state = config.stateDir();
      LocalSecrets secrets = LocalSecrets.read(state).orElseThrow();
      String superuser = secrets.get(LocalSecrets.POSTGRES_PASSWORD).orElseThrow();
      String analyst = secrets.get(LocalSecrets.ANALYST_PASSWORD).orElseThrow();
      assertEquals(superuser, config.postgresPassword(), "clients read the generated password");

      // PostgreSQL: no password, a wrong one, another role's: refused; the right one: in
      for (String user : List.of("postgres", LocalPostgres.ANALYST)) {
        SQLException none = assertThrows(SQLException.class, () -> login(config, user, null));
        assertTrue(none.getMessage().contains("password"), none.getMessage());
        SQLException wrong =
            assertThrows(SQLException.class, () -> login(config, user, "not-the-password"));
        assertEquals("28P01", wrong.getSQLState(), wrong.getMessage());
      }
      assertThrows(SQLException.class, () -> login(config, "postgres", analyst));
      try (Connection c = login(config, "postgres", superuser);
          Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery("SELECT rolsuper FROM pg_roles WHERE rolname = 'postgres'")) {
        assertTrue(rs.next() && rs.getBoolean(1));
      }
      // the analyst reads and cannot write
      try (Connection c = login(config, LocalPostgres.ANALYST, analyst);
          Statement s = c.createStatement()) {
        try (ResultSet rs = s.executeQuery("SELECT count(*) FROM runs")) {
          assertTrue(rs.next());
        }
        SQLException denied =
            assertThrows(
                SQLException.class,
                () ->
                    s.execute(
                        "INSERT INTO data_issues (dataset_uri, shard, sample_key, reason)"
                            + " VALUES ('s3://b/', 's', 'k', 'r')"));
        assertEquals("42501", denied.getSQLState(), denied.getMessage());
      }
      // what the server itself is told: SCRAM over 127.0.0.1, nothing trusted
      try (Database db = Services.database(config);
          Connection c = db.connection();
          Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "SELECT string_agg(type || ' ' || coalesce(address, '') || ' ' || auth_method,"
                      + " ';') FROM pg_hba_file_rules")) {
        assertTrue(rs.next());
        assertEquals("host 127.0.0.1 scram-sha-256", rs.getString(1));
      }
      // and the clients' sessions carry the configured timeouts (config/flipflow.properties)
      try (Database db = Services.database(config);
          Connection c = db.connection();
          Statement s = c.createStatement()) {
        for (String[] setting :
            List.of(
                new String[] {"statement_timeout", "30s"}, new String[] {"lock_timeout", "10s"})) {
          try (ResultSet rs = s.executeQuery("SHOW " + setting[0])) {
            assertTrue(rs.next());
            assertEquals(setting[1], rs.getString(1), setting[0]);
          }
        }
      }

      // S3: the keys that were constants in the code, or a wrong secret, are refused
      String access = config.s3AccessKey().orElseThrow();
      String secret = config.s3SecretKey().orElseThrow();
      assertEquals(secrets.get(LocalSecrets.S3_ACCESS_KEY).orElseThrow(), access);
      assertNotEquals(OLD_ACCESS_KEY, access);
      assertNotEquals(OLD_SECRET_KEY, secret);
      for (String[] keys :
          List.of(
              new String[] {OLD_ACCESS_KEY, OLD_SECRET_KEY},
              new String[] {access, OLD_SECRET_KEY},
              new String[] {OLD_ACCESS_KEY, secret})) {
        try (S3Client s3 = s3(config, keys[0], keys[1])) {
          S3Exception e =
              assertThrows(
                  S3Exception.class, () -> s3.listObjectsV2(b -> b.bucket(config.s3Bucket())));
          assertEquals(403, e.statusCode(), e.getMessage());
        }
      }
      try (S3Client s3 = s3(config, access, secret)) {
        s3.listObjectsV2(b -> b.bucket(config.s3Bucket()));
      }

      // the files that hold them: owner-only
      for (String f : List.of(LocalSecrets.FILE, LocalStack.PGPASS, "s3.env")) {
        assertEquals(OWNER_ONLY, mode(state.resolve(f)), f);
      }
      String pgpass = Files.readString(state.resolve(LocalStack.PGPASS));
      assertTrue(pgpass.contains(":postgres:" + superuser + "\n"), "superuser line in pgpass");
      assertTrue(pgpass.contains(":" + LocalPostgres.ANALYST + ":" + analyst + "\n"));
      String s3env = Files.readString(state.resolve("s3.env"));
      assertTrue(s3env.contains("AWS_SECRET_ACCESS_KEY=" + secret + "\n"), "s3.env has the key");
    }
  }

  @Test
  void eachStateFolderGetsItsOwnSecretsOnceAndKeepsThem() throws Exception {
    LocalSecrets a = LocalSecrets.loadOrCreate(project.resolve("a"));
    LocalSecrets b = LocalSecrets.loadOrCreate(project.resolve("b"));
    LocalSecrets aAgain = LocalSecrets.loadOrCreate(project.resolve("a"));
    for (String key :
        List.of(
            LocalSecrets.POSTGRES_PASSWORD,
            LocalSecrets.ANALYST_PASSWORD,
            LocalSecrets.S3_ACCESS_KEY,
            LocalSecrets.S3_SECRET_KEY)) {
      String va = a.get(key).orElseThrow();
      assertNotEquals(va, b.get(key).orElseThrow(), key + " of two state folders");
      assertEquals(va, aAgain.get(key).orElseThrow(), key + " read again");
      assertTrue(va.length() >= 20, key + " is long enough: " + va.length());
    }
    assertEquals(OWNER_ONLY, mode(a.file()));
    assertEquals(OWNER_ONLY, mode(b.file()));
    // nothing but the file and no temp file beside it
    try (Stream<Path> files = Files.list(project.resolve("a"))) {
      assertEquals(List.of(a.file()), files.toList());
    }
    assertFalse(a.toString().contains(a.get(LocalSecrets.S3_SECRET_KEY).orElseThrow()));
  }

  @Test
  void beforeTheStackMadeThemAClientIsToldWhereTheSecretsComeFrom() {
    FlipflowConfig config =
        FlipflowConfig.load(project, LocalTestEnv.onFreePorts(project, "memory"));
    for (Runnable read :
        List.<Runnable>of(config::postgresPassword, config::s3AccessKey, config::s3SecretKey)) {
      IllegalStateException e = assertThrows(IllegalStateException.class, read::run);
      assertTrue(e.getMessage().contains("./flipflow up"), e.getMessage());
      assertTrue(
          e.getMessage().contains(config.stateDir().resolve(LocalSecrets.FILE).toString()),
          e.getMessage());
    }
  }

  @Test
  void upTellsHowToUseTheSecretsAndNeverPrintsOrLogsThem() throws Exception {
    // the dev server where the CLI is installed: its log and database are scanned too
    boolean dev = LocalTemporal.findCli().isPresent();
    Map<String, String> env = LocalTestEnv.onFreePorts(project, dev ? "dev" : "memory");
    Path state = FlipflowConfig.load(project, env).stateDir();
    // everything every library logs, not only what the shipped configuration lets through
    Path logback = project.resolve("logback-debug.xml");
    Files.writeString(
        logback,
        "<configuration><appender name=\"E\" class=\"ch.qos.logback.core.ConsoleAppender\">"
            + "<target>System.err</target><encoder><pattern>%level %logger - %msg%n</pattern>"
            + "</encoder></appender><root level=\"DEBUG\"><appender-ref ref=\"E\"/></root>"
            + "</configuration>");
    Path out = project.resolve("up.log");
    List<String> cmd =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Dlogback.configurationFile=" + logback,
            "-Dflipflow.home=" + project,
            "-cp",
            System.getProperty("java.class.path"),
            "io.flipflow.infra.cli.FlipflowCommand",
            "up",
            "--no-worker");
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()));
    pb.environment().putAll(env);
    pb.environment().put("FLIPFLOW_LOG_LEVEL", "DEBUG");
    Process up = pb.start();
    String printed;
    List<String> secrets;
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
      while (!Files.readString(out).contains("flipflow is up")) {
        assertTrue(up.isAlive(), "flipflow up exited:\n" + Files.readString(out));
        assertTrue(System.nanoTime() < deadline, "not up in 180 s:\n" + Files.readString(out));
        Thread.sleep(200);
      }
      Thread.sleep(500); // the rest of the lines after "is up"
      printed = Files.readString(out);
      LocalSecrets s = LocalSecrets.read(state).orElseThrow();
      secrets =
          Stream.of(
                  LocalSecrets.POSTGRES_PASSWORD,
                  LocalSecrets.ANALYST_PASSWORD,
                  LocalSecrets.S3_ACCESS_KEY,
                  LocalSecrets.S3_SECRET_KEY)
              .map(k -> s.get(k).orElseThrow())
              .toList();

      // what it printed is enough to log in: the README's psql line, as written
      Matcher m = Pattern.compile("export PGPASSFILE=(\\S+)").matcher(printed);
      assertTrue(m.find(), "no PGPASSFILE line in:\n" + printed);
      Path pgpass = Path.of(m.group(1));
      assertEquals(state.resolve(LocalStack.PGPASS), pgpass);
      assertTrue(printed.contains(". " + state.resolve("s3.env") + " && aws"), printed);
      String port = env.get("FLIPFLOW_POSTGRES_LOCAL_PORT");
      assertTrue(
          printed.contains("psql -h 127.0.0.1 -p " + port + " -U flipflow_analyst flipflow"),
          printed);
      if (Files.isExecutable(Path.of("/usr/bin/psql"))) {
        for (String user : List.of("flipflow_analyst", "postgres")) {
          PsqlResult with = psql(port, user, pgpass);
          assertEquals(0, with.code, user + " with PGPASSFILE: " + with.output);
          assertEquals("0", with.output.strip(), with.output);
          PsqlResult without = psql(port, user, null);
          assertNotEquals(0, without.code, user + " without a password: " + without.output);
          assertTrue(without.output.contains("password"), without.output);
        }
      }
    } finally {
      up.destroy();
      if (!up.waitFor(60, TimeUnit.SECONDS)) {
        up.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
    }
    String all = Files.readString(out);
    assertTrue(all.contains("flipflow: stopped"), all);
    assertTrue(all.contains("DEBUG"), "the log ran at DEBUG");
    for (String secret : secrets) {
      assertFalse(all.contains(secret), "a secret is in the output or log of flipflow up");
    }
    // nor in any other file of the state folder (logs, the Temporal database, s3 objects)
    List<Path> scanned = new ArrayList<>();
    try (Stream<Path> files = Files.walk(state)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = f.getFileName().toString();
        if (!Files.isRegularFile(f)
            || f.startsWith(state.resolve("postgres"))
            || List.of(LocalSecrets.FILE, LocalStack.PGPASS, "s3.env").contains(name)) {
          continue;
        }
        String text =
            new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1);
        for (String secret : secrets) {
          assertFalse(text.contains(secret), "a secret is in " + f);
        }
        scanned.add(f);
      }
    }
    if (dev) {
      assertTrue(scanned.contains(state.resolve("temporal-dev-server.log")), "scanned: " + scanned);
    }
  }

  private record PsqlResult(int code, String output) {}

  /** The README's line, {@code psql -h 127.0.0.1 -p PORT -U USER flipflow}, never prompting. */
  private PsqlResult psql(String port, String user, Path pgpass) throws Exception {
    ProcessBuilder pb =
        new ProcessBuilder(
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                port,
                "-U",
                user,
                "flipflow",
                "-w",
                "-At",
                "-c",
                "SELECT count(*) FROM runs")
            .redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
    // no ~/.pgpass of whoever runs the tests
    pb.environment().put("HOME", Files.createDirectories(project.resolve("home")).toString());
    if (pgpass != null) {
      pb.environment().put("PGPASSFILE", pgpass.toString());
    }
    Process p = pb.start();
    String output = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    return new PsqlResult(p.exitValue(), output);
  }

  @Test
  void configuredSecretsAreUsedAsGivenAndNotCopied() throws Exception {
    Map<String, String> env = LocalTestEnv.onFreePorts(project, "memory");
    env.put("FLIPFLOW_POSTGRES_PASSWORD", "my-own-pg-password");
    env.put("FLIPFLOW_S3_ACCESSKEY", "my-own-access-key");
    env.put("FLIPFLOW_S3_SECRETKEY", "my-own-secret-key");
    FlipflowConfig config = FlipflowConfig.load(project, env);
    try (LocalStack stack = LocalStack.start(config, Map.of())) {
      try (Connection c = login(config, "postgres", "my-own-pg-password")) {
        assertTrue(c.isValid(5));
      }
      String generated =
          LocalSecrets.read(config.stateDir())
              .orElseThrow()
              .get(LocalSecrets.POSTGRES_PASSWORD)
              .orElseThrow();
      assertThrows(SQLException.class, () -> login(config, "postgres", generated));
      String pgpass = Files.readString(config.stateDir().resolve(LocalStack.PGPASS));
      assertFalse(pgpass.contains("my-own-pg-password"), "a configured password is not copied");
      assertFalse(pgpass.contains(":postgres:"), pgpass);
      assertTrue(pgpass.contains(":" + LocalPostgres.ANALYST + ":"), pgpass);
      try (S3Client s3 = s3(config, "my-own-access-key", "my-own-secret-key")) {
        s3.listObjectsV2(b -> b.bucket(config.s3Bucket()));
      }
    }
  }

  @Test
  void aFolderFromBeforePasswordsGetsOneAndKeepsItsData() throws Exception {
    Map<String, String> env = LocalTestEnv.onFreePorts(project, "memory");
    FlipflowConfig config = FlipflowConfig.load(project, env);
    // a state folder as flipflow made it before: initdb -A trust, a table with a row
    Path dataDir = config.stateDir().resolve("postgres");
    Files.createDirectories(dataDir);
    try (EmbeddedPostgres old =
            EmbeddedPostgres.builder()
                .setDataDirectory(dataDir)
                .setCleanDataDirectory(false)
                .setPort(config.postgresLocalPort())
                .setServerConfig("listen_addresses", "127.0.0.1")
                .setServerConfig("unix_socket_directories", "")
                .start();
        Connection c = old.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE kept (v text)");
      s.execute("INSERT INTO kept VALUES ('from the trust era')");
    }
    try (LocalStack stack = LocalStack.start(config, Map.of())) {
      SQLException none = assertThrows(SQLException.class, () -> login(config, "postgres", null));
      assertTrue(none.getMessage().contains("password"), none.getMessage());
      String pw = config.postgresPassword();
      assertFalse(pw.isEmpty());
      Properties p = new Properties();
      p.setProperty("user", "postgres");
      p.setProperty("password", pw);
      try (Connection c =
              DriverManager.getConnection(
                  "jdbc:postgresql://127.0.0.1:" + config.postgresLocalPort() + "/postgres", p);
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT v FROM kept")) {
        assertTrue(rs.next());
        assertEquals("from the trust era", rs.getString(1));
      }
    }
  }

  @Test
  void aPasswordTheFolderWasNotMadeWithIsNamedAndLeavesNoServerUp() throws Exception {
    Map<String, String> env = LocalTestEnv.onFreePorts(project, "memory");
    FlipflowConfig config = FlipflowConfig.load(project, env);
    Path dataDir = config.stateDir().resolve("postgres");
    LocalPostgres.start(dataDir, config.postgresLocalPort(), "the-first-password").close();
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> LocalPostgres.start(dataDir, config.postgresLocalPort(), "another-password"));
    assertTrue(e.getMessage().contains("refused the password"), e.getMessage());
    assertTrue(e.getMessage().contains("postgres.password"), e.getMessage());
    assertFalse(e.getMessage().contains("another-password"), e.getMessage());
    assertFalse(
        Ports.accepting("127.0.0.1", config.postgresLocalPort()),
        "the server started for the failed login is stopped again");
    // and the right one still opens it
    LocalPostgres.start(dataDir, config.postgresLocalPort(), "the-first-password").close();
  }
}
