package io.flipflow.infra.reliability;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code flipflow worker} in its own JVM (the test classpath, the real {@code FlipflowCommand}),
 * so a fault can kill it the way a machine dies. Its stdout and stderr go to a log file that the
 * tests read for the steps it trained and the checkpoint it resumed from.
 */
final class WorkerProcess implements AutoCloseable {
  private final String name;
  private final Process process;
  private final Path log;

  private WorkerProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
  }

  /**
   * Starts {@code flipflow worker --queues QUEUES} and waits until it polls.
   *
   * @param env FLIPFLOW_* settings pointing at the test stack
   */
  static WorkerProcess start(
      String name, Path home, Map<String, String> env, Path logDir, String queues) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd =
        new ArrayList<>(
            List.of(
                java,
                "-Xmx1500m",
                "-XX:+ExitOnOutOfMemoryError",
                "-XX:MaxDirectMemorySize=256m",
                "-Dai.djl.offline=true",
                "-Dai.djl.pytorch.num_threads=1",
                "-Dai.djl.pytorch.num_interop_threads=1",
                "-Dflipflow.home=" + home,
                "-cp",
                System.getProperty("java.class.path"),
                "io.flipflow.infra.cli.FlipflowCommand",
                "worker",
                "--queues",
                queues));
    try {
      Files.createDirectories(logDir);
      Path log = logDir.resolve(name + ".log");
      ProcessBuilder pb =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      pb.environment().putAll(env);
      // the per-step debug line tells which step a killed worker reached
      pb.environment().put("FLIPFLOW_LOG_LEVEL", "DEBUG");
      WorkerProcess w = new WorkerProcess(name, pb.start(), log);
      w.awaitLine("flipflow worker on", 120);
      return w;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String name() {
    return name;
  }

  long pid() {
    return process.pid();
  }

  Path logFile() {
    return log;
  }

  String logText() {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  void awaitLine(String needle, int seconds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!logText().contains(needle)) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            name + " exited (" + process.exitValue() + ") before '" + needle + "':\n" + logText());
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(name + ": no '" + needle + "' in " + seconds + " s");
      }
      sleep(200);
    }
  }

  /** SIGSTOP or SIGCONT: a process that hangs (swapping, a stuck driver) and comes back. */
  void signal(String name) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(process.pid())).start();
    if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed");
    }
  }

  /** SIGKILL: no shutdown hook, no final checkpoint, no goodbye to Temporal. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM: the shutdown hook closes the workers gracefully; returns the exit code. */
  int terminate() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(180, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      throw new IllegalStateException(name + " did not stop within 180 s of SIGTERM");
    }
    return process.exitValue();
  }

  /** The highest step this worker logged for the run's stage (its per-step debug line). */
  OptionalLong lastStep(String runId, String stage) {
    Matcher m =
        Pattern.compile(Pattern.quote(runId + " " + stage + " step ") + "(\\d+)/")
            .matcher(logText());
    long max = -1;
    while (m.find()) {
      max = Math.max(max, Long.parseLong(m.group(1)));
    }
    return max < 0 ? OptionalLong.empty() : OptionalLong.of(max);
  }

  /** The checkpoint step this worker resumed the run's stage from, if it resumed. */
  OptionalLong resumedFrom(String runId, String stage) {
    Matcher m =
        Pattern.compile(
                Pattern.quote(runId + " " + stage + ": resuming from ") + "\\S+ \\(step (\\d+)\\)")
            .matcher(logText());
    long last = -1;
    while (m.find()) {
      last = Long.parseLong(m.group(1));
    }
    return last < 0 ? OptionalLong.empty() : OptionalLong.of(last);
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
