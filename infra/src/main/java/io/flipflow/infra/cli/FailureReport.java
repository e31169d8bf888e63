package io.flipflow.infra.cli;

import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.local.LocalTemporal;
import io.temporal.client.WorkflowException;
import io.temporal.failure.ActivityFailure;
import io.temporal.failure.ChildWorkflowFailure;
import io.temporal.failure.TemporalFailure;
import java.io.PrintWriter;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A failed run as a user wants to read it: which run, which stage, the root cause's own message,
 * the workflow id and where to look at it in the UI; the stack trace only with {@code --verbose}
 * (it is always in the log file).
 */
final class FailureReport {
  private static final Pattern STAGE = Pattern.compile("stage (\\w+) failed");

  private FailureReport() {}

  /** The workflow failure in {@code e}'s causes, if a workflow is what failed. */
  static Optional<WorkflowException> workflowFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof WorkflowException w) {
        return Optional.of(w);
      }
    }
    return Optional.empty();
  }

  /** The innermost message that is not a wrapper's ("activity X failed", "workflow Y failed"). */
  static String rootCause(Throwable e) {
    String found = null;
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof WorkflowException
          || t instanceof ActivityFailure
          || t instanceof ChildWorkflowFailure) {
        continue;
      }
      String own = t instanceof TemporalFailure f ? f.getOriginalMessage() : t.getMessage();
      if (own != null && !own.isBlank()) {
        found = own;
      }
    }
    if (found == null) {
      return String.valueOf(e.getMessage());
    }
    // the pipeline prefixes its stage's failure: "run X failed: stage PRETRAIN failed: cause"
    return found.replaceFirst("^run \\S+ failed: ", "").replaceFirst("^stage \\w+ failed: ", "");
  }

  /** The stage a failure names ("stage PRETRAIN failed: ..."), if any. */
  static Optional<String> stage(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = t instanceof TemporalFailure f ? f.getOriginalMessage() : t.getMessage();
      if (m != null) {
        Matcher matcher = STAGE.matcher(m);
        if (matcher.find()) {
          return Optional.of(matcher.group(1));
        }
      }
    }
    return Optional.empty();
  }

  /** Where the UI shows a workflow: {@code temporal.ui.url}, or the local dev server's UI. */
  static Optional<String> uiLink(FlipflowConfig config, String workflowId) {
    String base = config.get("temporal.ui.url", null);
    if ((base == null || base.isBlank())
        && config.get("temporal.address", "").isBlank()
        && LocalTemporal.findCli().isPresent()) {
      base = "http://127.0.0.1:" + config.temporalUiPort();
    }
    if (base == null || base.isBlank()) {
      return Optional.empty();
    }
    return Optional.of(
        base.replaceAll("/+$", "")
            + "/namespaces/"
            + config.get("temporal.namespace", "default")
            + "/workflows/"
            + workflowId);
  }

  /** Prints the report of a failed workflow; returns the exit code (1). */
  static int print(WorkflowException w, FlipflowConfig config, PrintWriter err, boolean verbose) {
    String id = w.getExecution().getWorkflowId();
    err.println(
        "flipflow: run "
            + id
            + " FAILED"
            + stage(w).map(s -> " in stage " + s).orElse("")
            + ": "
            + rootCause(w));
    String runId = w.getExecution().getRunId();
    err.println(
        "  workflow "
            + id
            + (runId == null || runId.isEmpty() ? "" : " (run " + runId + ")")
            + uiLink(config, id).map(u -> "  " + u).orElse(""));
    if (verbose) {
      w.printStackTrace(err);
    } else {
      err.println("  (--verbose prints the stack trace; it is also in " + logFile(config) + ")");
    }
    err.flush();
    return 1;
  }

  static String logFile(FlipflowConfig config) {
    String dir = System.getenv("FLIPFLOW_LOG_DIR");
    return (dir != null && !dir.isBlank()
            ? java.nio.file.Path.of(dir)
            : FlipflowCommand.projectDir().resolve(".flipflow").resolve("logs"))
        .resolve("flipflow.log")
        .toString();
  }
}
