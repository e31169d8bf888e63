package io.flipflow.infra.cli;

import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.TemporalConnection;
import io.flipflow.workflows.TaskQueues;
import io.flipflow.workflows.pipeline.FlipPipelineWorkflow;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.SpecFiles;
import io.temporal.api.enums.v1.WorkflowIdConflictPolicy;
import io.temporal.api.enums.v1.WorkflowIdReusePolicy;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Start one FLIP run (FlipPipelineWorkflow) from a run spec and follow its progress.",
      "The same as: temporal workflow start --type FlipPipelineWorkflow --task-queue"
          + " flipflow-control --workflow-id ID --input-file FILE"
    })
public final class RunCommand implements Runnable {
  @Parameters(index = "0", description = "A run spec, e.g. config/runs/emoji-tiny-mask50.json")
  Path file;

  @Option(names = "--id", description = "Workflow id (default: the spec's name).")
  String id;

  @Option(names = "--no-follow", description = "Start it and return at once.")
  boolean noFollow;

  @Option(
      names = "--resume",
      description =
          "Continue the existing run of this name; it must have been started with the same spec.")
  boolean resume;

  @Override
  public void run() {
    RunSpec spec = SpecFiles.readRun(file);
    if (resume) {
      spec = spec.withResume(true);
    }
    List<String> errors = spec.validate();
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException(file + ": " + String.join("; ", errors));
    }
    FlipflowConfig config = FlipflowCommand.config();
    String workflowId = id != null ? id : spec.name();
    try (TemporalConnection temporal = TemporalConnection.connect(config)) {
      RunSummary summary = startAndFollow(temporal.client(), spec, workflowId, !noFollow);
      if (summary != null) {
        printSummary(summary);
      }
    }
  }

  static RunSummary startAndFollow(
      WorkflowClient client, RunSpec spec, String workflowId, boolean follow) {
    FlipPipelineWorkflow stub =
        client.newWorkflowStub(
            FlipPipelineWorkflow.class,
            WorkflowOptions.newBuilder()
                .setWorkflowId(workflowId)
                .setTaskQueue(TaskQueues.CONTROL)
                // as the Temporal CLI does: an ended run's id may start again (the workflow then
                // checks the spec against the run's record), a running one may not start twice
                .setWorkflowIdReusePolicy(
                    WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE)
                .setWorkflowIdConflictPolicy(
                    WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
                .build());
    WorkflowClient.start(stub::run, spec);
    System.out.println(
        "started " + workflowId + " (FlipPipelineWorkflow on " + TaskQueues.CONTROL + ")");
    return follow ? Follow.pipeline(client, workflowId, System.out) : null;
  }

  static void printSummary(RunSummary s) {
    System.out.printf(
        Locale.ROOT,
        "%s %s in %.0f s; zero-shot top-1 %s%s%n",
        s.workflowId(),
        s.status(),
        s.wallSeconds(),
        s.zeroShotTop1() == null
            ? "-"
            : String.format(Locale.ROOT, "%.1f%%", 100 * s.zeroShotTop1()),
        s.message() == null ? "" : " (" + s.message() + ")");
  }
}
