package io.flipflow.infra.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flipflow.infra.bench.OrchestrationOverhead;
import io.flipflow.infra.local.LocalTemporal;
import io.flipflow.workflows.plan.EvaluationRequest;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.SpecFiles;
import io.flipflow.workflows.spec.UnmaskedTuning;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A user's path end to end on the real dev server: start a pipeline with the temporal CLI, query
 * its progress, list it by search attribute, and find every stage's rows in Postgres.
 */
class EndToEndCliTest {
  @TempDir Path root;

  @Test
  void pipelineStartedWithTheTemporalCliRunsAndIsRecorded() throws Exception {
    assumeTrue(
        LocalTemporal.findCli().isPresent(),
        "the temporal CLI is not installed (.ci/run installs it): the CLI path is skipped; the"
            + " same pipeline runs through the SDK in FaultInjectionTest");
    try (ReliabilityStack stack = ReliabilityStack.start(root)) {
      stack.startInProcessGpuWorker();
      RunSpec spec =
          stack
              .spec("e2e-cli", 6)
              .with()
              .unmaskedTuning(new UnmaskedTuning(true, 0.5, 0.1))
              .dataSamples(100L) // the data-size axis: 100 of the 256 staged samples
              .build();
      Path file = root.resolve("e2e-cli.json");
      Files.writeString(file, SpecFiles.toJson(spec));
      String address = stack.config.temporalAddress();

      String started =
          temporal(
              address,
              "workflow",
              "start",
              "--type",
              "FlipPipelineWorkflow",
              "--task-queue",
              "flipflow-control",
              "--workflow-id",
              "e2e-cli",
              "--input-file",
              file.toString());
      assertTrue(started.contains("e2e-cli"), started);

      String progress = "";
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!progress.contains("\"stage\"") && System.nanoTime() < deadline) {
        progress =
            temporal(
                address, "workflow", "query", "--workflow-id", "e2e-cli", "--name", "progress");
        Thread.sleep(500);
      }
      assertTrue(progress.contains("\"stage\""), "progress query answered: " + progress);

      RunSummary summary =
          ReliabilityStack.result(
              stack.client.newUntypedWorkflowStub("e2e-cli"), Duration.ofMinutes(10));
      assertEquals("FINISHED", summary.status().name(), String.valueOf(summary.message()));

      String listed = "";
      deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!listed.contains("e2e-cli") && System.nanoTime() < deadline) {
        listed =
            temporal(
                address,
                "workflow",
                "list",
                "-q",
                "FlipMaskRatio = 0.5 AND FlipStage = 'FINISHED'");
        Thread.sleep(500);
      }
      assertTrue(listed.contains("e2e-cli"), "not listed by search attribute: " + listed);

      try (Connection c = stack.db.connection();
          Statement s = c.createStatement()) {
        assertEquals("FINISHED", one(s, "SELECT status FROM runs WHERE run_id = 'e2e-cli'"));
        assertEquals("100", one(s, "SELECT data_samples FROM runs WHERE run_id = 'e2e-cli'"));
        assertEquals(
            "eval_pretrained,eval_tuned,pretrain,stage_data,unmasked_tune",
            one(
                s,
                "SELECT string_agg(stage, ',' ORDER BY stage) FROM stages"
                    + " WHERE run_id = 'e2e-cli' AND status = 'FINISHED'"));
        assertEquals(
            "6",
            one(s, "SELECT count(*) FROM metrics WHERE run_id = 'e2e-cli' AND stage = 'pretrain'"));
        assertEquals(
            "1",
            one(
                s,
                "SELECT count(*) FROM checkpoints WHERE run_id = 'e2e-cli' AND stage = 'pretrain'"
                    + " AND is_final AND step = 6"));
        assertTrue(
            Integer.parseInt(
                    one(
                        s,
                        "SELECT count(DISTINCT phase) FROM eval_results WHERE run_id = 'e2e-cli'"))
                == 2);
      }
      String adhocRows = evaluateAgainWithTheTemporalCli(stack, address, spec);
      OrchestrationOverhead.Figures overhead = OrchestrationOverhead.of(stack.client, "e2e-cli");
      assertTrue(overhead.activities() >= 5 && overhead.activitySeconds() > 0, overhead.toString());
      assertTrue(
          overhead.overheadShare() >= 0 && overhead.overheadShare() < 1, overhead.toString());
      System.out.printf(
          "FIGURE orchestration overhead of e2e-cli: wall %.1f s, %d activities %.1f s, overhead"
              + " %.1f s = %.1f%%%n",
          overhead.wallSeconds(),
          overhead.activities(),
          overhead.activitySeconds(),
          overhead.overheadSeconds(),
          100 * overhead.overheadShare());
      System.out.println(
          "FIGURE e2e-cli: EvaluationWorkflow started by the temporal CLI recorded "
              + adhocRows
              + " eval_results rows under the run");
      System.out.println(
          "FIGURE e2e-cli: pipeline started by the temporal CLI finished in "
              + String.format("%.1f", summary.wallSeconds())
              + " s; 5 stages, 6 metric rows, final checkpoint at step 6 recorded");
    }
  }

  /**
   * The run's final pretraining checkpoint evaluated once more as an EvaluationWorkflow started
   * with the Temporal CLI: listed by FlipRun, its results in eval_results under the run.
   */
  private String evaluateAgainWithTheTemporalCli(
      ReliabilityStack stack, String address, RunSpec spec) throws Exception {
    String checkpoint;
    try (Connection c = stack.db.connection();
        Statement s = c.createStatement()) {
      checkpoint =
          one(
              s,
              "SELECT uri FROM checkpoints WHERE run_id = 'e2e-cli' AND stage = 'pretrain'"
                  + " AND is_final");
    }
    EvaluationRequest request =
        new EvaluationRequest(
            "adhoc:pretrain/step-6",
            new CheckpointRef(checkpoint, 6, 0),
            spec.evalSetUris(),
            "s3://" + stack.config.s3Bucket() + "/rel-data/tokenizer.json",
            spec.modelPreset(),
            "cpu",
            0,
            "e2e-cli",
            null);
    Path file = root.resolve("eval-e2e.json");
    Files.writeString(file, SpecFiles.toJson(request));
    String started =
        temporal(
            address,
            "workflow",
            "start",
            "--type",
            "EvaluationWorkflow",
            "--task-queue",
            "flipflow-control",
            "--workflow-id",
            "eval-e2e",
            "--input-file",
            file.toString());
    assertTrue(started.contains("eval-e2e"), started);
    EvalReport report =
        stack
            .client
            .newUntypedWorkflowStub("eval-e2e")
            .getResult(10, TimeUnit.MINUTES, EvalReport.class);
    assertTrue(report.headlineTop1() != null, "no headline in " + report);

    String listed = "";
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!listed.contains("eval-e2e") && System.nanoTime() < deadline) {
      listed = temporal(address, "workflow", "list", "-q", "FlipRun = 'e2e-cli'");
      Thread.sleep(500);
    }
    assertTrue(listed.contains("eval-e2e"), "not listed by FlipRun: " + listed);
    try (Connection c = stack.db.connection();
        Statement s = c.createStatement()) {
      assertEquals(
          checkpoint,
          one(
              s,
              "SELECT string_agg(DISTINCT checkpoint_uri, ',') FROM eval_results"
                  + " WHERE run_id = 'e2e-cli' AND phase = 'adhoc:pretrain/step-6'"));
      return one(
          s,
          "SELECT count(*) FROM eval_results WHERE run_id = 'e2e-cli'"
              + " AND phase = 'adhoc:pretrain/step-6'");
    }
  }

  private static String one(Statement s, String sql) throws Exception {
    try (ResultSet rs = s.executeQuery(sql)) {
      assertTrue(rs.next(), sql);
      return rs.getString(1);
    }
  }

  private static String temporal(String address, String... args)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(LocalTemporal.findCli().orElseThrow().toString());
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("--address", address));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(60, TimeUnit.SECONDS);
    return out;
  }
}
