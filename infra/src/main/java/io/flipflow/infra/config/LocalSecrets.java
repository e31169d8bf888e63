package io.flipflow.infra.config;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local stack's secrets: the embedded PostgreSQL's superuser and analyst passwords and the
 * s3proxy's keys, generated with {@link SecureRandom} once per state folder and kept in {@value
 * #FILE} there, a file only its owner can read (mode 0600 from the moment it exists). A restart
 * reads the same secrets, so the data made with them stays reachable. The values are never logged
 * or printed; {@link #toString} names the file only.
 */
public final class LocalSecrets {
  public static final String FILE = "local-secrets.properties";
  public static final String POSTGRES_PASSWORD = "postgres.password";
  public static final String ANALYST_PASSWORD = "postgres.analystPassword";
  public static final String S3_ACCESS_KEY = "s3.accessKey";
  public static final String S3_SECRET_KEY = "s3.secretKey";

  private static final Logger log = LoggerFactory.getLogger(LocalSecrets.class);
  private static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rw-------");
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String ACCESS_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  private final Path file;
  private final Map<String, String> values;

  private LocalSecrets(Path file, Map<String, String> values) {
    this.file = file;
    this.values = values;
  }

  /** The secrets of this state folder, generated and stored the first time. */
  public static LocalSecrets loadOrCreate(Path stateDir) {
    Path file = stateDir.resolve(FILE);
    try {
      Files.createDirectories(stateDir);
      Map<String, String> values = new TreeMap<>(readIfPresent(file).orElse(Map.of()));
      boolean added = false;
      added |= values.putIfAbsent(POSTGRES_PASSWORD, password()) == null;
      added |= values.putIfAbsent(ANALYST_PASSWORD, password()) == null;
      added |= values.putIfAbsent(S3_ACCESS_KEY, accessKey()) == null;
      added |= values.putIfAbsent(S3_SECRET_KEY, password()) == null;
      if (added) {
        StringWriter text = new StringWriter();
        text.write(
            "# Secrets of flipflow's local stack in this folder, made once by `flipflow up`."
                + " Keep private (mode 0600).\n"
                + "# The PostgreSQL data here was initialised with these passwords: deleting this"
                + " file locks you out of it.\n");
        for (Map.Entry<String, String> e : values.entrySet()) {
          text.write(e.getKey() + "=" + e.getValue() + "\n");
        }
        writePrivate(file, text.toString());
      }
      return new LocalSecrets(file, values);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot keep the local secrets in " + file, e);
    }
  }

  /** The secrets of this state folder if the local stack made them there, else empty. */
  public static Optional<LocalSecrets> read(Path stateDir) {
    Path file = stateDir.resolve(FILE);
    try {
      return readIfPresent(file).map(v -> new LocalSecrets(file, v));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the local secrets in " + file, e);
    }
  }

  private static Optional<Map<String, String>> readIfPresent(Path file) throws IOException {
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file);
    if (!OWNER_ONLY.containsAll(mode)) {
      // someone widened it: narrow it again, and say so (the values may have been read)
      log.warn(
          "{} was readable by others ({}); set to rw------- again",
          file,
          PosixFilePermissions.toString(mode));
      Files.setPosixFilePermissions(file, OWNER_ONLY);
    }
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    }
    Map<String, String> values = new TreeMap<>();
    p.stringPropertyNames().forEach(k -> values.put(k, p.getProperty(k).trim()));
    return Optional.of(values);
  }

  /**
   * Writes {@code text} to {@code file} so that no moment exists in which another user could read
   * it: a new file created with mode 0600 beside it, then renamed over {@code file}.
   */
  public static void writePrivate(Path file, String text) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = dir.resolve("." + file.getFileName() + "." + UUID.randomUUID() + ".tmp");
    FileAttribute<Set<PosixFilePermission>> ownerOnly =
        PosixFilePermissions.asFileAttribute(OWNER_ONLY);
    try {
      try (Writer w =
          Channels.newWriter(
              Files.newByteChannel(
                  tmp,
                  EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                  ownerOnly),
              StandardCharsets.UTF_8)) {
        w.write(text);
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** 256 random bits, URL-safe base64: no character that .pgpass, a shell or a URL would escape. */
  private static String password() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** 20 characters of A-Z and 2-7 (100 random bits), shaped like an AWS access key id. */
  private static String accessKey() {
    StringBuilder sb = new StringBuilder(20);
    for (int i = 0; i < 20; i++) {
      sb.append(ACCESS_KEY_ALPHABET.charAt(RANDOM.nextInt(ACCESS_KEY_ALPHABET.length())));
    }
    return sb.toString();
  }

  public Path file() {
    return file;
  }

  public Optional<String> get(String key) {
    return Optional.ofNullable(values.get(key)).filter(v -> !v.isEmpty());
  }

  @Override
  public String toString() {
    return "local secrets in " + file;
  }
}
