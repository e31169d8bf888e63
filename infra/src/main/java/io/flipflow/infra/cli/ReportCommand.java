package io.flipflow.infra.cli;

import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.Services;
import io.flipflow.infra.report.StudyReport;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "report",
    mixinStandardHelpOptions = true,
    description =
        "Write a study's report: PNG plots (loss vs wall-clock, zero-shot top-1 vs wall-clock and"
            + " vs samples seen per mask ratio) and report.md with the paper's tables.")
public final class ReportCommand implements Runnable {
  static final class Target {
    @Option(names = "--study", description = "A study id.")
    String study;

    @Option(names = "--runs", split = ",", description = "Run ids (runs outside a study).")
    List<String> runs;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Target target;

  @Option(names = "--out", required = true, description = "Output folder.")
  Path out;

  @Option(
      names = "--dataset",
      description = "Data set for the accuracy plots (default: first with unseen split).")
  String dataset;

  @Option(names = "--split", description = "Split for the accuracy plots (default: unseen).")
  String split;

  @Override
  public void run() {
    FlipflowConfig config = FlipflowCommand.config();
    StudyReport.Options o = new StudyReport.Options(dataset, split, 960, 600);
    try {
      StudyReport.Written w =
          target.study != null
              ? StudyReport.writeStudy(Services.database(config), target.study, out, o)
              : StudyReport.writeRuns(Services.database(config), target.runs, out, o);
      System.out.println("wrote " + w.markdown() + " and " + w.images());
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("report: " + e.getMessage(), e);
    }
  }
}
