package io.flipflow.infra.local;

import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.temporal.api.enums.v1.IndexedValueType;
import io.temporal.api.operatorservice.v1.AddSearchAttributesRequest;
import io.temporal.internal.testservice.GRPCServerHelper;
import io.temporal.internal.testservice.TestServicesStarter;
import io.temporal.serviceclient.OperatorServiceStubs;
import io.temporal.serviceclient.OperatorServiceStubsOptions;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Temporal for the local stack: the Temporal CLI's dev server (UI, list queries, search attributes)
 * when {@code temporal} is installed, else Temporal's in-memory Java server.
 */
public abstract class LocalTemporal implements LocalService {
  private static final Logger log = LoggerFactory.getLogger(LocalTemporal.class);

  public abstract String address();

  public abstract boolean isDevServer();

  /** The {@code temporal} binary: on PATH, or where {@code go install} puts it. */
  public static Optional<Path> findCli() {
    List<Path> candidates = new ArrayList<>();
    String path = System.getenv().getOrDefault("PATH", "");
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty()) {
        candidates.add(Path.of(dir, "temporal"));
      }
    }
    String gopath = System.getenv("GOPATH");
    candidates.add(
        gopath != null
            ? Path.of(gopath, "bin", "temporal")
            : Path.of(System.getProperty("user.home"), "go", "bin", "temporal"));
    return candidates.stream().filter(Files::isExecutable).findFirst();
  }

  /**
   * Starts the dev server when the CLI is there, else the in-memory server.
   *
   * @param searchAttributes name to type (Keyword, Double, ...), registered on the dev server
   */
  public static LocalTemporal start(
      String mode, Path stateDir, int port, int uiPort, Map<String, String> searchAttributes) {
    if (!List.of("auto", "dev", "memory").contains(mode)) {
      throw new IllegalArgumentException(
          "temporal.local.server must be auto, dev or memory, got '" + mode + "'");
    }
    Optional<Path> cli = mode.equals("memory") ? Optional.empty() : findCli();
    if (mode.equals("dev") && cli.isEmpty()) {
      throw new IllegalStateException(
          "temporal.local.server=dev but the temporal CLI is not on PATH nor in ~/go/bin");
    }
    if (cli.isPresent()) {
      return DevServer.start(cli.get(), stateDir, port, uiPort, searchAttributes);
    }
    if (mode.equals("auto")) {
      log.warn(
          "the temporal CLI is not installed: using Temporal's in-memory Java server on 127.0.0.1:{}."
              + " It has no UI, no `temporal workflow list` and forgets workflows on exit; install the"
              + " CLI (go install github.com/temporalio/cli/cmd/temporal@v1.5.1) for the dev server",
          port);
    }
    InMemory server = InMemory.start(port);
    server.registerSearchAttributes(searchAttributes);
    return server;
  }

  /** The Temporal CLI's dev server as a child process with its SQLite file in the state folder. */
  public static final class DevServer extends LocalTemporal {
    private final Process process;
    private final int port;
    private final int uiPort;

    private DevServer(Process process, int port, int uiPort) {
      this.process = process;
      this.port = port;
      this.uiPort = uiPort;
    }

    public static DevServer start(
        Path cli, Path stateDir, int port, int uiPort, Map<String, String> searchAttributes) {
      Ports.requireFree(port, "Temporal (gRPC)");
      Ports.requireFree(uiPort, "Temporal UI");
      try {
        Files.createDirectories(stateDir);
        List<String> cmd = new ArrayList<>();
        cmd.addAll(
            List.of(
                cli.toString(),
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--ui-ip",
                "127.0.0.1",
                "--port",
                String.valueOf(port),
                "--ui-port",
                String.valueOf(uiPort),
                "--db-filename",
                stateDir.resolve("temporal.db").toString(),
                "--log-level",
                "error"));
        searchAttributes.forEach(
            (name, type) -> {
              cmd.add("--search-attribute");
              cmd.add(name + "=" + type);
            });
        Path logFile = stateDir.resolve("temporal-dev-server.log");
        Process p =
            new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        // gRPC first, then the UI: `flipflow up` prints the UI's address only once it answers
        for (int listening : List.of(port, uiPort)) {
          while (!Ports.accepting("127.0.0.1", listening)) {
            if (!p.isAlive()) {
              throw new IllegalStateException(
                  "the Temporal dev server exited with "
                      + p.exitValue()
                      + " before listening; see "
                      + logFile);
            }
            if (System.nanoTime() > deadline) {
              p.destroyForcibly();
              throw new IllegalStateException(
                  "the Temporal dev server did not listen on 127.0.0.1:"
                      + listening
                      + " within 60 s");
            }
            Thread.sleep(100);
          }
        }
        return new DevServer(p, port, uiPort);
      } catch (IOException e) {
        throw new IllegalStateException("cannot start " + cli + ": " + e.getMessage(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while starting Temporal", e);
      }
    }

    public long pid() {
      return process.pid();
    }

    @Override
    public String address() {
      return "127.0.0.1:" + port;
    }

    @Override
    public boolean isDevServer() {
      return true;
    }

    @Override
    public String name() {
      return "Temporal (dev server)";
    }

    @Override
    public List<String> howToReach() {
      return List.of(
          "export TEMPORAL_ADDRESS=" + address(),
          "temporal workflow list",
          "UI: http://127.0.0.1:" + uiPort);
    }

    @Override
    public void close() {
      process.destroy();
      try {
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Temporal's in-memory Java server. Its own {@code main} binds every interface, so the gRPC
   * server is built here on 127.0.0.1 from the same service classes.
   */
  public static final class InMemory extends LocalTemporal {
    private final TestServicesStarter services;
    private final Server server;
    private final int port;

    private InMemory(TestServicesStarter services, Server server, int port) {
      this.services = services;
      this.server = server;
      this.port = port;
    }

    public static InMemory start(int port) {
      Ports.requireFree(port, "Temporal (in-memory server)");
      TestServicesStarter services = new TestServicesStarter(false, 0);
      NettyServerBuilder builder =
          NettyServerBuilder.forAddress(
              new InetSocketAddress(InetAddress.getLoopbackAddress(), port),
              InsecureServerCredentials.create());
      GRPCServerHelper.registerServicesAndHealthChecks(services.getServices(), builder);
      try {
        return new InMemory(services, builder.build().start(), port);
      } catch (IOException e) {
        services.close();
        throw new IllegalStateException(
            "Temporal in-memory server could not bind 127.0.0.1:" + port, e);
      }
    }

    /** The in-memory server knows only its own custom fields until told of ours. */
    void registerSearchAttributes(Map<String, String> searchAttributes) {
      if (searchAttributes.isEmpty()) {
        return;
      }
      OperatorServiceStubs operator =
          OperatorServiceStubs.newServiceStubs(
              OperatorServiceStubsOptions.newBuilder()
                  .setTarget(address())
                  .validateAndBuildWithDefaults());
      try {
        AddSearchAttributesRequest.Builder request =
            AddSearchAttributesRequest.newBuilder().setNamespace("default");
        searchAttributes.forEach(
            (name, type) -> request.putSearchAttributes(name, indexedValueType(type)));
        operator.blockingStub().addSearchAttributes(request.build());
      } finally {
        operator.shutdown();
      }
    }

    private static IndexedValueType indexedValueType(String cliType) {
      return switch (cliType) {
        case "Keyword" -> IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
        case "Double" -> IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE;
        case "Text" -> IndexedValueType.INDEXED_VALUE_TYPE_TEXT;
        case "Int" -> IndexedValueType.INDEXED_VALUE_TYPE_INT;
        case "Bool" -> IndexedValueType.INDEXED_VALUE_TYPE_BOOL;
        case "Datetime" -> IndexedValueType.INDEXED_VALUE_TYPE_DATETIME;
        case "KeywordList" -> IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST;
        default -> throw new IllegalArgumentException("unknown search attribute type " + cliType);
      };
    }

    @Override
    public String address() {
      return "127.0.0.1:" + port;
    }

    @Override
    public boolean isDevServer() {
      return false;
    }

    @Override
    public String name() {
      return "Temporal (in-memory Java server)";
    }

    @Override
    public List<String> howToReach() {
      return List.of(
          "export TEMPORAL_ADDRESS=" + address(),
          "no UI and no `temporal workflow list` here: install the temporal CLI for the dev server");
    }

    @Override
    public void close() {
      server.shutdown();
      try {
        server.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      services.close();
    }
  }
}
