package io.flipflow.infra.cli;

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

/** Follows a running pipeline or study on the terminal with a progress line, until it ends. */
final class Follow {
  private static final int BAR = 24;

  private Follow() {}

  static RunSummary pipeline(WorkflowClient client, String workflowId, PrintStream out) {
    WorkflowStub stub = client.newUntypedWorkflowStub(workflowId);
    CompletableFuture<RunSummary> result = stub.getResultAsync(RunSummary.class);
    while (!result.isDone()) {
      try {
        out.print("\r" + progressLine(workflowId, LiveProgress.of(client, workflowId)));
        out.flush();
      } catch (RuntimeException e) {
        // the query can fail while the workflow is between tasks; the next one answers
      }
      sleep();
    }
    out.println();
    return result.join();
  }

  static StudySummary study(
      WorkflowClient client, String workflowId, StudySpec spec, PrintStream out) {
    WorkflowStub stub = client.newUntypedWorkflowStub(workflowId);
    CompletableFuture<StudySummary> result = stub.getResultAsync(StudySummary.class);
    ScalingStudyWorkflow study = client.newWorkflowStub(ScalingStudyWorkflow.class, workflowId);
    List<StudyCell> grid = spec.expand();
    Set<String> reported = new HashSet<>();
    while (!result.isDone()) {
      try {
        StudySummary now = study.results();
        for (StudyRunResult r : now.runs()) {
          if (reported.add(r.workflowId())) {
            out.print("\r" + " ".repeat(100) + "\r");
            out.println(finishedLine(r));
          }
        }
        for (StudyCell cell : grid) {
          if (!reported.contains(cell.workflowId())) {
            Progress p = LiveProgress.of(client, cell.workflowId());
            out.print(
                "\r["
                    + (reported.size() + 1)
                    + "/"
                    + grid.size()
                    + "] "
                    + progressLine(cell.workflowId(), p));
            out.flush();
            break;
          }
        }
      } catch (RuntimeException e) {
        // a child not started yet, or between tasks: ask again shortly
      }
      sleep();
    }
    StudySummary done = result.join();
    out.print("\r" + " ".repeat(100) + "\r");
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
    return String.format("%-100s", b);
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
