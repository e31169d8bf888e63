package io.flipflow.infra.cli;

import io.flipflow.workflows.result.EvalProgress;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.result.Progress;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.result.StudyRunResult;
import io.flipflow.workflows.result.StudySummary;
import io.flipflow.workflows.spec.StudyCell;
import io.flipflow.workflows.spec.StudySpec;
import io.flipflow.workflows.study.ScalingStudyWorkflow;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowStub;
import java.io.PrintStream;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Follows a running pipeline, study or evaluation until it ends: in a terminal as one live progress
 * line with everything else above it; where stdout is not a terminal as plain lines, one on every
 * stage change and one every {@link #plainEvery} otherwise, never a carriage return.
 */
final class Follow {
  private static final int BAR = 24;

  /** Seconds between plain progress lines where stdout is not a terminal. */
  static volatile int plainEverySeconds = plainEveryDefault();

  private Follow() {}

  private static int plainEveryDefault() {
    String v = System.getenv("FLIPFLOW_PROGRESS_SECONDS");
    try {
      return v == null || v.isBlank() ? 30 : Math.max(1, Integer.parseInt(v.trim()));
    } catch (NumberFormatException e) {
      return 30;
    }
  }

  /** Where progress lines go: the live line, or plain lines at stage changes and intervals. */
  static final class Progressor {
    private final PrintStream out;
    private String lastStage;
    private long lastPlain;

    Progressor(PrintStream out) {
      this.out = out;
    }

    void show(String key, String stage, String line) {
      if (Console.isTerminal()) {
        Console.live(line);
        return;
      }
      long now = System.nanoTime();
      String where = key + " " + stage;
      if (!where.equals(lastStage) || now - lastPlain >= plainEverySeconds * 1_000_000_000L) {
        out.println(line.stripTrailing());
        out.flush();
        lastStage = where;
        lastPlain = now;
      }
    }

    /** A line that stays: above the live line in a terminal, a plain line elsewhere. */
    void println(String line) {
      if (Console.isTerminal()) {
        Console.above(out, line + System.lineSeparator());
      } else {
        out.println(line);
      }
    }

    void end() {
      Console.endLive();
    }
  }

  static RunSummary pipeline(WorkflowClient client, String workflowId, PrintStream out) {
    WorkflowStub stub = client.newUntypedWorkflowStub(workflowId);
    CompletableFuture<RunSummary> result = stub.getResultAsync(RunSummary.class);
    Progressor progress = new Progressor(out);
    while (!result.isDone()) {
      try {
        Progress p = LiveProgress.of(client, workflowId);
        progress.show(workflowId, String.valueOf(p.stage()), progressLine(workflowId, p));
      } catch (RuntimeException e) {
        // the query can fail while the workflow is between tasks; the next one answers
      }
      sleep();
    }
    progress.end();
    return result.join();
  }

  static EvalReport evaluation(WorkflowClient client, String workflowId, PrintStream out) {
    WorkflowStub stub = client.newUntypedWorkflowStub(workflowId);
    CompletableFuture<EvalReport> result = stub.getResultAsync(EvalReport.class);
    Progressor progress = new Progressor(out);
    while (!result.isDone()) {
      try {
        LiveProgress.evaluation(client, workflowId)
            .ifPresent(p -> progress.show(workflowId, p.set() + p.phase(), evaluationLine(p)));
      } catch (RuntimeException e) {
        // between tasks, or the activity not scheduled yet: ask again shortly
      }
      sleep();
    }
    progress.end();
    return result.join();
  }

  static String evaluationLine(EvalProgress p) {
    String line =
        String.format(
            Locale.ROOT, "%-28s %s", shorten(p.set().isEmpty() ? "-" : p.set(), 28), p.phase());
    if (p.total() > 0) {
      int filled = (int) Math.round((double) p.done() / p.total() * BAR);
      line +=
          String.format(
              Locale.ROOT,
              " [%s%s] %,d/%,d",
              "#".repeat(Math.max(0, Math.min(BAR, filled))),
              ".".repeat(Math.max(0, BAR - filled)),
              p.done(),
              p.total());
    }
    return line;
  }

  static StudySummary study(
      WorkflowClient client, String workflowId, StudySpec spec, PrintStream out) {
    WorkflowStub stub = client.newUntypedWorkflowStub(workflowId);
    CompletableFuture<StudySummary> result = stub.getResultAsync(StudySummary.class);
    ScalingStudyWorkflow study = client.newWorkflowStub(ScalingStudyWorkflow.class, workflowId);
    List<StudyCell> grid = spec.expand();
    Set<String> reported = new HashSet<>();
    Progressor progress = new Progressor(out);
    while (!result.isDone()) {
      try {
        StudySummary now = study.results();
        for (StudyRunResult r : now.runs()) {
          if (reported.add(r.workflowId())) {
            progress.println(finishedLine(r));
          }
        }
        for (StudyCell cell : grid) {
          if (!reported.contains(cell.workflowId())) {
            Progress p = LiveProgress.of(client, cell.workflowId());
            progress.show(
                cell.workflowId(),
                String.valueOf(p.stage()),
                "["
                    + (reported.size() + 1)
                    + "/"
                    + grid.size()
                    + "] "
                    + progressLine(cell.workflowId(), p));
            break;
          }
        }
      } catch (RuntimeException e) {
        // a child not started yet, or between tasks: ask again shortly
      }
      sleep();
    }
    StudySummary done = result.join();
    progress.end();
    for (StudyRunResult r : done.runs()) {
      if (reported.add(r.workflowId())) {
        out.println(finishedLine(r));
      }
    }
    return done;
  }

  static String finishedLine(StudyRunResult r) {
    return String.format(
        Locale.ROOT,
        "  %-32s %-9s mask %.2f  top-1 %s  %,d samples  %.0f s%s",
        r.workflowId(),
        r.status(),
        r.maskRatio(),
        r.zeroShotTop1() == null
            ? "  -  "
            : String.format(Locale.ROOT, "%5.1f%%", 100 * r.zeroShotTop1()),
        r.samplesSeen() == null ? 0 : r.samplesSeen(),
        r.wallSeconds(),
        r.message() == null ? "" : "  (" + r.message() + ")");
  }

  static String progressLine(String id, Progress p) {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "%-28s %-15s", shorten(id, 28), p.stage()));
    if (p.step() > 0) {
      long eta = p.etaSeconds() == null ? 0 : p.etaSeconds();
      double done = eta > 0 && p.samplesPerSecond() != null ? fraction(p) : 1.0;
      int filled = (int) Math.round(done * BAR);
      b.append('[')
          .append("#".repeat(Math.max(0, Math.min(BAR, filled))))
          .append(".".repeat(Math.max(0, BAR - filled)))
          .append("] ");
      b.append(String.format(Locale.ROOT, "step %d", p.step()));
      if (p.lastLoss() != null) {
        b.append(String.format(Locale.ROOT, "  loss %.3f", p.lastLoss()));
      }
      if (p.samplesPerSecond() != null) {
        b.append(String.format(Locale.ROOT, "  %.0f samples/s", p.samplesPerSecond()));
      }
      if (p.etaSeconds() != null) {
        b.append(String.format(Locale.ROOT, "  ETA %ds", p.etaSeconds()));
      }
    }
    return b.toString();
  }

  /** Share of the stage done, from samples/s and the ETA: done / (done + remaining). */
  private static double fraction(Progress p) {
    double elapsed = p.samplesSeen() / Math.max(1e-9, p.samplesPerSecond());
    return elapsed / (elapsed + p.etaSeconds());
  }

  private static String shorten(String s, int n) {
    return s.length() <= n ? s : "..." + s.substring(s.length() - n + 3);
  }

  private static void sleep() {
    try {
      TimeUnit.SECONDS.sleep(2);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted");
    }
  }
}
