package io.flipflow.infra.cli;

import io.flipflow.infra.config.FlipflowConfig;
import java.nio.file.Path;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code flipflow} command: the local stack, workers, data import, runs, studies, reports. */
@Command(
    name = "flipflow",
    mixinStandardHelpOptions = true,
    version = "flipflow 0.1.0",
    description = "FLIP (masked language-image pretraining) as Temporal workflows.",
    subcommands = {
      UpCommand.class,
      WorkerCommand.class,
      DataCommand.class,
      RunCommand.class,
      StudyCommand.class,
      DemoCommand.class,
      EvalCommand.class,
      ExportCommand.class,
      ImportCommand.class,
      BenchCommand.class,
      ReportCommand.class,
      CommandLine.HelpCommand.class
    })
public final class FlipflowCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  private static volatile boolean verbose;

  @CommandLine.Option(
      names = "--verbose",
      scope = CommandLine.ScopeType.INHERIT,
      description = "Print stack traces of failures (they are always in the log file).")
  void setVerbose(boolean v) {
    verbose = v;
  }

  /** The project folder (config/ and the state folder live there); set by the launcher. */
  static Path projectDir() {
    return Path.of(System.getProperty("flipflow.home", ".")).toAbsolutePath().normalize();
  }

  static FlipflowConfig config() {
    return FlipflowConfig.load(projectDir());
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static void main(String[] args) {
    int code =
        new CommandLine(new FlipflowCommand())
            .setExecutionExceptionHandler(
                (ex, cmd, parsed) -> {
                  LoggerFactory.getLogger(FlipflowCommand.class).debug("command failed", ex);
                  var failedRun = FailureReport.workflowFailure(ex);
                  if (failedRun.isPresent()) {
                    return FailureReport.print(failedRun.get(), config(), cmd.getErr(), verbose);
                  }
                  // bad input and unreachable services are the user's to fix: one clear line
                  if (ex instanceof IllegalArgumentException
                      || ex instanceof IllegalStateException) {
                    cmd.getErr().println("flipflow: " + ex.getMessage());
                    if (verbose) {
                      ex.printStackTrace(cmd.getErr());
                    }
                    return 2;
                  }
                  throw ex;
                })
            .execute(args);
    System.exit(code);
  }
}
