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
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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

  private ReliabilityStack(Path root, boolean separateWorkers) throws Exception {
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
    // separate workers: control and cpu in this JVM, gpu in worker processes; or none here, as
    // with one `flipflow worker --queues control,cpu,gpu` JVM per machine
    controlAndCpu =
        separateWorkers ? FlipflowWorkers.start(config, List.of("control", "cpu")) : null;
  }

  /** The stack with control and cpu workers in this JVM; gpu workers are processes. */
  static ReliabilityStack start(Path root) throws Exception {
    return new ReliabilityStack(root, true);
  }

  /** The stack with no worker in this JVM: every queue is served by worker processes. */
  static ReliabilityStack withoutInProcessWorkers(Path root) throws Exception {
    return new ReliabilityStack(root, false);
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
    return startWorkerProcess(name, "gpu");
  }

  /** {@code flipflow worker --queues QUEUES} in a JVM of its own, e.g. {@code control,cpu,gpu}. */
  WorkerProcess startWorkerProcess(String name, String queues) {
    return startWorkerProcess(name, queues, Map.of());
  }

  /** As {@link #startWorkerProcess(String, String)}, with more FLIPFLOW_* settings. */
  WorkerProcess startWorkerProcess(String name, String queues, Map<String, String> settings) {
    Map<String, String> workerEnv = new HashMap<>(env);
    workerEnv.putAll(settings);
    // its own scratch space, as on another machine
    workerEnv.put("FLIPFLOW_STATE_DIR", root.resolve(name).toString());
    WorkerProcess w = WorkerProcess.start(name, project, workerEnv, root.resolve("logs"), queues);
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
   * What the run record holds for one training stage of a run, checked against an independent
   * record of what the trainer did: the per-step line every worker logs ({@code RUN STAGE step N/M
   * loss L}), read from the workers' log files. Checkpoint rows are checked against the objects in
   * S3.
   *
   * @param stepsLogged distinct steps 1..N the trainers logged (all N, or the log is not a record)
   * @param rowsLost steps the trainers logged with no {@code metrics} row
   * @param rowsUnbacked {@code metrics} rows whose step and loss no trainer logged: written twice
   *     with another value, or for a step never trained
   * @param stepsTrainedTwice logged steps trained by more than one attempt (redone work)
   * @param checkpointObjects checkpoint objects of the stage in S3 (every attempt's)
   * @param checkpointObjectsUnrecorded of those, the ones with no {@code checkpoints} row
   */
  record Audit(
      long expectedSteps,
      long stepsLogged,
      long metricRows,
      long rowsLost,
      long rowsUnbacked,
      long stepsTrainedTwice,
      long checkpointRows,
      long checkpointsIncomplete,
      long checkpointObjects,
      long checkpointObjectsUnrecorded,
      long stageRows,
      String stageStatus) {}

  /** Every loss each step of the run's stage was logged with, by any worker process. */
  Map<Long, List<Float>> trainerLog(String runId, String stage) {
    Pattern line =
        Pattern.compile(Pattern.quote(runId + " " + stage + " step ") + "(\\d+)/\\d+ loss (\\S+)");
    Map<Long, List<Float>> steps = new TreeMap<>();
    for (WorkerProcess w : processes) {
      Matcher m = line.matcher(w.logText());
      while (m.find()) {
        steps
            .computeIfAbsent(Long.parseLong(m.group(1)), k -> new ArrayList<>())
            .add(Float.parseFloat(m.group(2)));
      }
    }
    return steps;
  }

  Audit audit(String runId, String stage, long expectedSteps) throws SQLException {
    Map<Long, List<Float>> logged = trainerLog(runId, stage);
    Map<Long, Float> rows = new TreeMap<>();
    long metricRows = 0;
    try (Connection c = db.connection();
        PreparedStatement ps =
            c.prepareStatement("SELECT step, loss FROM metrics WHERE run_id = ? AND stage = ?")) {
      ps.setString(1, runId);
      ps.setString(2, stage);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          metricRows++;
          rows.put(rs.getLong(1), rs.getFloat(2));
        }
      }
    }
    long stepsLogged =
        logged.keySet().stream().filter(step -> step >= 1 && step <= expectedSteps).count();
    long lost = logged.keySet().stream().filter(step -> !rows.containsKey(step)).count();
    long unbacked =
        rows.entrySet().stream()
                .filter(r -> !logged.getOrDefault(r.getKey(), List.of()).contains(r.getValue()))
                .count()
            + (metricRows - rows.size());
    long twice = logged.values().stream().filter(l -> l.size() > 1).count();
    long incomplete = 0;
    long checkpointRows = 0;
    java.util.Set<String> recordedUris = new java.util.HashSet<>();
    try (Connection c = db.connection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT uri, size_bytes FROM checkpoints WHERE run_id = ? AND stage = ?")) {
      ps.setString(1, runId);
      ps.setString(2, stage);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          checkpointRows++;
          recordedUris.add(rs.getString(1));
          var head = store.head(S3Uri.parse(rs.getString(1)));
          if (head.isEmpty() || head.get().size() != rs.getLong(2)) {
            incomplete++;
          }
        }
      }
    }
    List<String> objects =
        store
            .list(
                S3Uri.parse(
                    "s3://" + config.s3Bucket() + "/checkpoints/" + runId + "/" + stage + "/"))
            .stream()
            .map(o -> o.uri().toString())
            .filter(u -> u.endsWith(".tar"))
            .toList();
    long unrecordedObjects = objects.stream().filter(u -> !recordedUris.contains(u)).count();
    long stageRows =
        scalar("SELECT COUNT(*) FROM stages WHERE run_id = ? AND stage = ?", runId, stage);
    String status = text("SELECT status FROM stages WHERE run_id = ? AND stage = ?", runId, stage);
    return new Audit(
        expectedSteps,
        stepsLogged,
        metricRows,
        lost,
        unbacked,
        twice,
        checkpointRows,
        incomplete,
        objects.size(),
        unrecordedObjects,
        stageRows,
        status);
  }

  /**
   * The highest attempt Temporal's history shows for the run's activities of {@code type} (e.g.
   * {@code Train}): 1 when none of them was retried. Measured, not assumed.
   */
  /**
   * The highest attempt of the run's staging activities: those of its staging child (plan, groups,
   * publish).
   */
  long highestStagingAttempt(String runWorkflowId) {
    String child = io.flipflow.workflows.staging.StagingWorkflow.idFor(runWorkflowId);
    long highest = 0;
    for (String type : List.of("PlanStaging", "StageGroup", "PublishStaging")) {
      highest = Math.max(highest, highestAttempt(child, type));
    }
    return highest;
  }

  long highestAttempt(String workflowId, String type) {
    var events = client.fetchHistory(workflowId).getEvents();
    java.util.Set<Long> scheduled = new java.util.HashSet<>();
    long highest = 0;
    for (var ev : events) {
      if (ev.hasActivityTaskScheduledEventAttributes()
          && ev.getActivityTaskScheduledEventAttributes()
              .getActivityType()
              .getName()
              .equals(type)) {
        scheduled.add(ev.getEventId());
      }
      if (ev.hasActivityTaskStartedEventAttributes()
          && scheduled.contains(ev.getActivityTaskStartedEventAttributes().getScheduledEventId())) {
        highest = Math.max(highest, ev.getActivityTaskStartedEventAttributes().getAttempt());
      }
    }
    return highest;
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
