package io.flipflow.infra.cli;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.StageData;
import io.flipflow.activities.device.DevicePool;
import io.flipflow.activities.eval.EvaluationActivitiesImpl;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.Services;
import io.flipflow.workflows.plan.EvaluationRequest;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalMetric;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.SpecFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "eval",
    mixinStandardHelpOptions = true,
    description = {
      "Evaluate any checkpoint zero-shot on any evaluation sets (folders with an eval.json, as",
      "`flipflow data import` writes them), recorded in eval_results under the run that made the",
      "checkpoint (phase 'adhoc') and as clip_benchmark JSON beside it."
    })
public final class EvalCommand implements Runnable {
  @Option(names = "--checkpoint", required = true, description = "s3://.../step-N.tar")
  String checkpoint;

  @Option(names = "--set", required = true, description = "Evaluation set URI; repeatable.")
  List<String> sets;

  @Option(
      names = "--spec",
      required = true,
      description =
          "The run spec the checkpoint was trained with (preset, data for the tokenizer).")
  Path specFile;

  @Option(
      names = "--run-id",
      description = "Run to record under (default: from the checkpoint URI).")
  String runId;

  @Override
  public void run() {
    FlipflowConfig config = FlipflowCommand.config();
    RunSpec spec = SpecFiles.readRun(specFile);
    String run = runId != null ? runId : runIdOf(checkpoint);
    try (S3Store store = S3Store.create(Services.s3(config))) {
      Path work = Files.createTempDirectory(config.stateDir(), "eval-");
      EvaluationRequest request =
          new EvaluationRequest(
              "adhoc",
              new CheckpointRef(checkpoint, 0, 0),
              sets,
              StageData.findTokenizer(store, S3Uri.parse(spec.dataUri())).toString(),
              spec.modelPreset(),
              spec.device(),
              spec.seed());
      EvalReport report =
          new EvaluationActivitiesImpl(
                  store,
                  work,
                  Services.database(config),
                  DevicePool.fromConfig(
                      config.get(DevicePool.DEVICES_KEY, "cpu"),
                      config.get(DevicePool.PER_RUN_KEY, "1")))
              .evaluate(request, run, work, null);
      for (EvalMetric m : report.metrics()) {
        System.out.printf(
            Locale.ROOT, "%-34s %-7s %-28s %.4f%n", m.dataset(), m.split(), m.metric(), m.value());
      }
      System.out.println("clip_benchmark JSON: " + report.resultJsonUri());
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  /**
   * s3://b/checkpoints/RUN/STAGE/attempt-N/step-N.tar (or, written before checkpoints were
   * attempt-scoped, RUN/STAGE/step-N.tar) -> RUN: the layout CheckpointStore writes.
   */
  static String runIdOf(String uri) {
    String[] parts = uri.split("/");
    boolean scoped = parts.length >= 2 && parts[parts.length - 2].startsWith("attempt-");
    int run = parts.length - (scoped ? 4 : 3);
    if (run < 3 || !uri.endsWith(".tar")) {
      throw new IllegalArgumentException(
          "--checkpoint "
              + uri
              + " is not of the form s3://BUCKET/checkpoints/RUN/STAGE/attempt-N/step-N.tar;"
              + " give --run-id");
    }
    return parts[run];
  }
}
