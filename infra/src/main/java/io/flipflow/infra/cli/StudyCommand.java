package io.flipflow.infra.cli;

import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.Services;
import io.flipflow.infra.config.TemporalConnection;
import io.flipflow.workflows.TaskQueues;
import io.flipflow.workflows.result.StudySummary;
import io.flipflow.workflows.spec.SpecFiles;
import io.flipflow.workflows.spec.StudySpec;
import io.flipflow.workflows.study.ScalingStudyWorkflow;
import io.temporal.api.enums.v1.WorkflowIdConflictPolicy;
import io.temporal.api.enums.v1.WorkflowIdReusePolicy;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "study",
    mixinStandardHelpOptions = true,
    description = {
      "Start a scaling study (ScalingStudyWorkflow: a grid of FLIP runs) from a study spec, follow",
      "it, and print the paper's tables for it from Postgres. The same as: temporal workflow start",
      "--type ScalingStudyWorkflow --task-queue flipflow-control --workflow-id STUDY --input-file FILE"
    })
public final class StudyCommand implements Runnable {
  @Parameters(index = "0", description = "A study spec, e.g. config/studies/emoji-table1a.json")
  Path file;

  @Option(
      names = "--id",
      description = "Study id (default: the spec's studyId); also the workflow id.")
  String id;

  @Option(names = "--no-follow", description = "Start it and return at once.")
  boolean noFollow;

  @Option(
      names = "--resume",
      description =
          "Continue the runs of an earlier study of this id; each must have the same spec.")
  boolean resume;

  @Override
  public void run() {
    StudySpec spec = SpecFiles.readStudy(file);
    if (id != null) {
      spec = spec.withStudyId(id);
    }
    if (resume) {
      spec = spec.withResume(true);
    }
    List<String> errors = spec.validate();
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException(file + ": " + String.join("; ", errors));
    }
    FlipflowConfig config = FlipflowCommand.config();
    try (TemporalConnection temporal = TemporalConnection.connect(config)) {
      startAndFollow(temporal.client(), spec, !noFollow);
      if (!noFollow) {
        StudyTables.print(Services.database(config), spec.studyId(), System.out);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read the study's tables: " + e.getMessage(), e);
    }
  }

  static StudySummary startAndFollow(WorkflowClient client, StudySpec spec, boolean follow) {
    ScalingStudyWorkflow stub =
        client.newWorkflowStub(
            ScalingStudyWorkflow.class,
            WorkflowOptions.newBuilder()
                .setWorkflowId(spec.studyId())
                .setTaskQueue(TaskQueues.CONTROL)
                // as the Temporal CLI does: a new study of an ended id may start (its runs are
                // checked against their records), a running one may not start twice
                .setWorkflowIdReusePolicy(
                    WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE)
                .setWorkflowIdConflictPolicy(
                    WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL)
                .build());
    WorkflowClient.start(stub::run, spec, null);
    System.out.println(
        "started study "
            + spec.studyId()
            + " ("
            + spec.gridSize()
            + " runs, ScalingStudyWorkflow on "
            + TaskQueues.CONTROL
            + ")");
    if (!follow) {
      return null;
    }
    StudySummary s = Follow.study(client, spec.studyId(), spec, System.out);
    System.out.printf(
        "study %s: %d finished, %d failed, %d cancelled%n",
        s.studyId(), s.finished(), s.failed(), s.cancelled());
    return s;
  }
}
