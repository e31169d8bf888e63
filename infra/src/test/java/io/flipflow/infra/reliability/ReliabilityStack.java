package io.flipflow.infra.reliability;

import io.flipflow.activities.data.Fixtures;
import io.flipflow.activities.data.eval.EvalSetWriter;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.tokenizer.WordLevelVocabulary;
import io.flipflow.db.Database;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.Services;
import io.flipflow.infra.config.TemporalConnection;
import io.flipflow.infra.local.LocalPostgres;
import io.flipflow.infra.local.LocalS3;
import io.flipflow.infra.local.LocalStack;
import io.flipflow.infra.local.LocalTemporal;
import io.flipflow.infra.local.LocalTestEnv;
import io.flipflow.infra.worker.FlipflowWorkers;
import io.flipflow.workflows.TaskQueues;
import io.flipflow.workflows.pipeline.FlipPipelineWorkflow;
import io.flipflow.workflows.result.RunSummary;
import io.flipflow.workflows.spec.RunSpec;
import io.flipflow.workflows.spec.RunSpecBuilder;
import io.flipflow.workflows.spec.UnmaskedTuning;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.client.WorkflowStub;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The local stack of {@code flipflow up}, in this JVM on free ports under a temp folder, with a
 * tiny generated training set in its S3 and workers for the control and cpu queues. The gpu queue
 * is served by worker processes (to kill) or an in-process worker, as each fault needs. Services
 * can be stopped and started again on the same data and port, as an operator's restart would.
 */
final class ReliabilityStack implements AutoCloseable {
  static final String PRESET = "tiny-emoji";
  static final int BATCH = 16;
  static final int CHECKPOINT_EVERY = 2;

  final Path root;
  final Path project;
  final Map<String, String> env;
  final FlipflowConfig config;
  final String s3Secret;
  final String postgresPassword;
  final boolean devServer;
  private final LocalStack stack;
  private LocalPostgres postgres;
  private LocalS3 s3;
  private LocalTemporal temporal;
  private final List<AutoCloseable> replacements = new ArrayList<>();
  private final List<WorkerProcess> processes = new ArrayList<>();
  final TemporalConnection connection;
  final WorkflowClient client;
  final S3Store store;
  final Database db;
  private final FlipflowWorkers controlAndCpu;
  private FlipflowWorkers inProcessGpu;
  final String dataUri;
  final String evalUri;

  private ReliabilityStack(Path root) throws Exception {
    this.root = root;
    this.project = Files.createDirectories(root.resolve("project"));
    this.devServer = LocalTemporal.findCli().isPresent();
    // secrets the security scan looks for: the S3 key and the Postgres password, configured so
    // that the worker JVMs (each with a state folder of its own, as on another machine) get them
    // from the environment, where the embedded servers require them
    this.s3Secret = "rel-s3-secret-" + UUID.randomUUID();
    this.postgresPassword = "rel-pg-password-" + UUID.randomUUID();
    env = LocalTestEnv.onFreePorts(root, devServer ? "dev" : "memory");
    env.put("FLIPFLOW_POSTGRES_PASSWORD", postgresPassword);
    env.put("FLIPFLOW_S3_ACCESSKEY", "rel-s3-access-" + UUID.randomUUID());
    env.put("FLIPFLOW_S3_SECRETKEY", s3Secret);
    config = FlipflowConfig.load(project, env);
    stack = LocalStack.start(config, FlipflowWorkers.searchAttributes());
    postgres = stack.postgres();
    s3 = stack.s3();
    temporal = stack.temporal();
    connection = TemporalConnection.connect(config);
    client = connection.client();
    store = S3Store.create(Services.s3(config));
    db = Services.database(config);
    S3Uri base = S3Uri.parse("s3://" + config.s3Bucket() + "/rel-data/");
    writeTrainingSet(store, base);
    dataUri = base.resolve("train/").toString();
    evalUri = base.resolve("eval/").toString();
    controlAndCpu = FlipflowWorkers.start(config, List.of("control", "cpu"));
  }

  static ReliabilityStack start(Path root) throws Exception {
    return new ReliabilityStack(root);
  }

  /**
   * 256 image-text pairs (solid colour squares, "a red square"), a word-level tokenizer one folder
   * up, and a 4-class zero-shot set of 32 images: enough for every stage to do real work.
   */
  private static void writeTrainingSet(S3Store store, S3Uri base) {
    Fixtures.writeShards(store, base.resolve("train/"), 4, 64);
    List<String> texts = new ArrayList<>();
    Fixtures.COLOURS.forEach(c -> texts.add("a " + c + " square"));
    store.put(base.resolve("tokenizer.json"), WordLevelVocabulary.build(texts));
    List<EvalSetWriter.Item> items = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      int c = i % Fixtures.COLOURS.size();
      String colour = Fixtures.COLOURS.get(c);
      items.add(
          new EvalSetWriter.Item(
              String.format("e%04d", i),
              Fixtures.png(16, 16, Fixtures.colour(colour)),
              colour,
              c,
              Map.of()));
    }
    EvalSetWriter.writeClassification(
        store,
        base.resolve("eval/colours/"),
        "colours",
        "test",
        Fixtures.COLOURS,
        List.of("a {c} square"),
        items,
        16);
  }

  /** A tiny-emoji run over the generated set: mask 50%, checkpoint every 2 steps, no tuning. */
  RunSpec spec(String name, long steps) {
    return RunSpecBuilder.builder()
        .name(name)
        .modelPreset(PRESET)
        .dataUri(dataUri)
        .evalSetUris(List.of(evalUri))
        .imageSize(64)
        .maskRatio(0.5)
        .batchSize(BATCH)
        .steps(steps)
        .baseLr(1e-3)
        .seed(0L)
        .checkpointIntervalSteps(CHECKPOINT_EVERY)
        .unmaskedTuning(UnmaskedTuning.disabled())
        .build();
  }

  WorkflowStub start(String workflowId, RunSpec spec) {
    FlipPipelineWorkflow wf =
        client.newWorkflowStub(
            FlipPipelineWorkflow.class,
            WorkflowOptions.newBuilder()
                .setTaskQueue(TaskQueues.CONTROL)
                .setWorkflowId(workflowId)
                .setWorkflowExecutionTimeout(Duration.ofMinutes(20))
                .build());
    WorkflowClient.start(wf::run, spec);
    return WorkflowStub.fromTyped(wf);
  }

  static RunSummary result(WorkflowStub run, Duration timeout) throws Exception {
    return run.getResult(timeout.toSeconds(), TimeUnit.SECONDS, RunSummary.class);
  }

  // --- gpu workers ---

  WorkerProcess startWorkerProcess(String name) {
    Map<String, String> workerEnv = new HashMap<>(env);
    // its own scratch space, as on another machine
    workerEnv.put("FLIPFLOW_STATE_DIR", root.resolve(name).toString());
    WorkerProcess w = WorkerProcess.start(name, project, workerEnv, root.resolve("logs"), "gpu");
    processes.add(w);
    return w;
  }

  void startInProcessGpuWorker() {
    if (inProcessGpu == null) {
      inProcessGpu = FlipflowWorkers.start(config, List.of("gpu"));
    }
  }

  List<Path> logFiles() throws Exception {
    List<Path> files = new ArrayList<>();
    for (WorkerProcess w : processes) {
      files.add(w.logFile());
    }
    Path devLog = config.stateDir().resolve("temporal-dev-server.log");
    if (Files.exists(devLog)) {
      files.add(devLog);
    }
    return files;
  }

  // --- faults: stop a service and start it again on the same data and port ---

  void stopPostgres() {
    postgres.close();
  }

  void startPostgres() {
    postgres =
        LocalPostgres.start(
            config.stateDir().resolve("postgres"),
            config.postgresLocalPort(),
            config.postgresPassword());
    replacements.add(postgres);
  }

  void stopS3() {
    s3.close();
  }

  void startS3() {
    s3 =
        LocalS3.start(
            config.stateDir().resolve("s3"),
            config.s3LocalPort(),
            config.s3AccessKey().orElseThrow(),
            config.s3SecretKey().orElseThrow(),
            config.s3Bucket());
    replacements.add(s3);
  }

  /** Stops the dev server (SIGTERM) and starts it on the same SQLite file and ports. */
  void restartTemporal() {
    temporal.close();
    temporal =
        LocalTemporal.DevServer.start(
            LocalTemporal.findCli().orElseThrow(),
            config.stateDir(),
            config.temporalLocalPort(),
            config.temporalUiPort(),
            FlipflowWorkers.searchAttributes());
    replacements.add(temporal);
  }

  // --- the run record ---

  long scalar(String sql, Object... args) throws SQLException {
    try (Connection c = db.connection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  String text(String sql, Object... args) throws SQLException {
    try (Connection c = db.connection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  /** Newest checkpoint step recorded for the run's stage, -1 when none (or Postgres is down). */
  long newestCheckpointStep(String runId, String stage) {
    try {
      return scalar(
          "SELECT COALESCE(MAX(step), -1) FROM checkpoints WHERE run_id = ? AND stage = ?",
          runId,
          stage);
    } catch (SQLException e) {
      return -1;
    }
  }

  /** Waits for a checkpoint row of at least {@code step}; returns the step seen. */
  long awaitCheckpoint(String runId, String stage, long step, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      long s = newestCheckpointStep(runId, stage);
      if (s >= step) {
        return s;
      }
      WorkerProcess.sleep(100);
    }
    throw new AssertionError(
        "no checkpoint row of " + runId + "/" + stage + " at step >= " + step + " in " + timeout);
  }

  /**
   * What the run record holds for one training stage of a run, checked against what it should: a
   * metrics row for every step 1..N, checkpoints complete in S3.
   */
  record Audit(
      long expectedSteps,
      long metricRows,
      long stepsMissing,
      long metricRowsDuplicated,
      long checkpointRows,
      long checkpointsIncomplete,
      long stageRows,
      String stageStatus) {
    long rowsLost() {
      return stepsMissing;
    }

    long rowsDuplicated() {
      return metricRowsDuplicated;
    }
  }

  Audit audit(String runId, String stage, long expectedSteps) throws SQLException {
    long rows = scalar("SELECT COUNT(*) FROM metrics WHERE run_id = ? AND stage = ?", runId, stage);
    long distinctInRange =
        scalar(
            "SELECT COUNT(DISTINCT step) FROM metrics WHERE run_id = ? AND stage = ?"
                + " AND step BETWEEN 1 AND ?",
            runId,
            stage,
            expectedSteps);
    long distinct =
        scalar(
            "SELECT COUNT(DISTINCT step) FROM metrics WHERE run_id = ? AND stage = ?",
            runId,
            stage);
    long incomplete = 0;
    long checkpointRows = 0;
    try (Connection c = db.connection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT uri, size_bytes FROM checkpoints WHERE run_id = ? AND stage = ?")) {
      ps.setString(1, runId);
      ps.setString(2, stage);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          checkpointRows++;
          var head = store.head(S3Uri.parse(rs.getString(1)));
          if (head.isEmpty() || head.get().size() != rs.getLong(2)) {
            incomplete++;
          }
        }
      }
    }
    long stageRows =
        scalar("SELECT COUNT(*) FROM stages WHERE run_id = ? AND stage = ?", runId, stage);
    String status = text("SELECT status FROM stages WHERE run_id = ? AND stage = ?", runId, stage);
    return new Audit(
        expectedSteps,
        rows,
        expectedSteps - distinctInRange,
        rows - distinct,
        checkpointRows,
        incomplete,
        stageRows,
        status);
  }

  @Override
  public void close() {
    for (WorkerProcess w : processes) {
      w.close();
    }
    closeQuietly(inProcessGpu);
    closeQuietly(controlAndCpu);
    closeQuietly(store);
    closeQuietly(connection);
    // replacements first: closing a stale instance again must not stop the live one
    for (int i = replacements.size() - 1; i >= 0; i--) {
      closeQuietly(replacements.get(i));
    }
    stack.close();
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      System.err.println("reliability stack: " + c + " did not close: " + e);
    }
  }
}
