package io.flipflow.infra.cli;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.StageData;
import io.flipflow.db.Database;
import io.flipflow.db.RunStore.ExistingRun;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.Services;
import io.flipflow.infra.config.TemporalConnection;
import io.flipflow.workflows.TaskQueues;
import io.flipflow.workflows.evaluation.EvaluationWorkflow;
import io.flipflow.workflows.plan.EvaluationRequest;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalMetric;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.SpecFiles;
import io.temporal.api.enums.v1.WorkflowIdConflictPolicy;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    description = {
      "Evaluate any checkpoint zero-shot on any evaluation sets (folders with an eval.json, as",
      "`flipflow data import` writes them) as an EvaluationWorkflow on the workers: in the UI,",
      "searchable by FlipRun and FlipEvalSet, recorded in eval_results under the run that made",
      "the checkpoint (phase 'adhoc:STAGE/step-N') and as clip_benchmark JSON beside it."
    })
public final class EvalCommand implements Runnable {
  private static final Pattern CHECKPOINT =
      Pattern.compile(
          "s3://[^/]+/(?:.+/)?checkpoints/(?<run>[^/]+)/(?<stage>[^/]+)/(?:attempt-\\d+/)?"
              + "step-(?<step>\\d+)\\.tar");

  @Option(names = "--checkpoint", required = true, description = "s3://.../step-N.tar")
  String checkpoint;

  @Option(names = "--set", required = true, description = "Evaluation set URI; repeatable.")
  List<String> sets;

  @Option(
      names = "--spec",
      description =
          "The run spec the checkpoint was trained with (preset, data for the tokenizer);"
              + " default: the spec the record holds for the run. Not needed for a checkpoint"
              + " that carries its tokenizer (format 2, every checkpoint flipflow writes now).")
  Path specFile;

  @Option(
      names = "--device",
      description = "cpu, cuda or cuda:N (default: the spec's device, else cpu).")
  String device;

  @Option(
      names = "--run-id",
      description = "Run to record under (default: from the checkpoint URI).")
  String runId;

  @Option(
      names = "--phase",
      description = "eval_results.phase to record under (default: adhoc:STAGE/step-N).")
  String phase;

  @Option(
      names = "--id",
      description = "Workflow id (default: eval-RUN- and a hash of checkpoint and sets).")
  String id;

  @Option(names = "--no-follow", description = "Start it and return at once.")
  boolean noFollow;

  @Override
  public void run() {
    FlipflowConfig config = FlipflowCommand.config();
    Matcher m = CHECKPOINT.matcher(checkpoint);
    boolean standard = m.matches();
    String run = runId != null ? runId : standard ? m.group("run") : null;
    if (run == null) {
      throw new IllegalArgumentException(
          "--checkpoint "
              + checkpoint
              + " is not of the form s3://BUCKET/checkpoints/RUN/STAGE/attempt-N/step-N.tar;"
              + " give --run-id");
    }
    String recordPhase =
        phase != null
            ? phase
            : standard ? "adhoc:" + m.group("stage") + "/step-" + m.group("step") : "adhoc";
    RunSpec spec = specFile != null ? SpecFiles.readRun(specFile) : recordedSpec(config, run);
    // a format-2 checkpoint carries its tokenizer and preset; an older one needs the spec's
    String tokenizer = null;
    if (specFile != null) {
      try (S3Store store = S3Store.create(Services.s3(config))) {
        tokenizer = StageData.findTokenizer(store, S3Uri.parse(spec.dataUri())).toString();
      }
    }
    EvaluationRequest request =
        new EvaluationRequest(
            recordPhase,
            new CheckpointRef(checkpoint, 0, 0),
            sets,
            tokenizer,
            specFile != null ? spec.modelPreset() : null,
            device != null ? device : spec.device(),
            spec.seed(),
            run,
            spec.maskRatio());
    String workflowId = id != null ? id : workflowId(run, checkpoint, sets);
    try (TemporalConnection temporal = TemporalConnection.connect(config)) {
      WorkflowClient client = temporal.client();
      EvaluationWorkflow stub =
          client.newWorkflowStub(
              EvaluationWorkflow.class,
              WorkflowOptions.newBuilder()
                  .setWorkflowId(workflowId)
                  .setTaskQueue(TaskQueues.CONTROL)
                  // the same evaluation asked twice while it runs follows the one running
                  .setWorkflowIdConflictPolicy(
                      WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING)
                  .build());
      WorkflowClient.start(stub::run, request);
      System.out.println(
          "started " + workflowId + " (EvaluationWorkflow on " + TaskQueues.CONTROL + ")");
      if (noFollow) {
        return;
      }
      print(Follow.evaluation(client, workflowId, System.out));
    }
  }

  private static RunSpec recordedSpec(FlipflowConfig config, String run) {
    try (Database db = Services.database(config)) {
      ExistingRun existing =
          db.runs()
              .find(run)
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "run "
                              + run
                              + " is not in the record (runs); give --run-id of a recorded run,"
                              + " or --spec"));
      return SpecFiles.parseRun(existing.specJson(), "runs.spec of " + run);
    } catch (SQLException e) {
      throw new IllegalStateException("reading run " + run + ": " + e.getMessage(), e);
    }
  }

  /** Same checkpoint, same sets: same id, so asking again while it runs does not start twice. */
  static String workflowId(String run, String checkpoint, List<String> sets) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(checkpoint.getBytes(StandardCharsets.UTF_8));
      for (String set : sets.stream().sorted().toList()) {
        sha.update((byte) 0);
        sha.update(set.getBytes(StandardCharsets.UTF_8));
      }
      return "eval-" + run + "-" + HexFormat.of().formatHex(sha.digest()).substring(0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static void print(EvalReport report) {
    for (EvalMetric m : report.metrics()) {
      System.out.printf(
          Locale.ROOT, "%-34s %-7s %-28s %.4f%n", m.dataset(), m.split(), m.metric(), m.value());
    }
    System.out.println("clip_benchmark JSON: " + report.resultJsonUri());
  }
}
