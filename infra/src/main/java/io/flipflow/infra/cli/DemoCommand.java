package io.flipflow.infra.cli;

import io.flipflow.activities.data.emoji.EmojiImporter;
import io.flipflow.activities.data.npm.NpmPackages;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.Services;
import io.flipflow.infra.config.TemporalConnection;
import io.flipflow.infra.local.LocalService;
import io.flipflow.infra.local.LocalStack;
import io.flipflow.infra.worker.FlipflowWorkers;
import io.flipflow.workflows.spec.SpecFiles;
import io.flipflow.workflows.spec.StudySpec;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "The main job on a fresh machine: bring up the local stack and a worker, import the emoji",
      "sets (google + openmoji) into S3, run the Table 1a study on the tiny preset on CPU (mask 0,",
      "0.5, 0.75, each with unmasked tuning, equal pretraining wall-clock), evaluate zero-shot on",
      "unseen concepts, print the results from Postgres and how to browse them, and keep the stack",
      "up until Ctrl-C."
    })
public final class DemoCommand implements Runnable {
  @Option(names = "--exit", description = "Stop everything when the study is done.")
  boolean exit;

  @Option(
      names = "--study",
      description = "Study spec to run (default: ${DEFAULT-VALUE}).",
      defaultValue = "config/studies/emoji-table1a.json")
  Path studyFile;

  @Option(
      names = "--seconds-per-run",
      description = "Pretraining wall-clock per run (default: the spec's, 180 s).")
  Long secondsPerRun;

  @Override
  public void run() {
    FlipflowConfig config = FlipflowCommand.config();
    Path file =
        studyFile.isAbsolute() ? studyFile : FlipflowCommand.projectDir().resolve(studyFile);
    StudySpec base = SpecFiles.readStudy(file);
    String studyId =
        base.studyId()
            + "-demo-"
            + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    StudySpec spec =
        base.with()
            .studyId(studyId)
            .wallClockSecondsPerRun(
                secondsPerRun != null ? secondsPerRun : base.wallClockSecondsPerRun())
            .build();

    long t0 = System.nanoTime();
    LocalStack stack = LocalStack.start(config, FlipflowWorkers.searchAttributes());
    FlipflowWorkers workers = null;
    CountDownLatch stopped = new CountDownLatch(1);
    try {
      workers = FlipflowWorkers.start(config, FlipflowWorkers.ALL_QUEUES);
      FlipflowWorkers running = workers;
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    System.out.println("\nflipflow: stopping...");
                    running.close();
                    stack.close();
                    stopped.countDown();
                  },
                  "flipflow-demo-shutdown"));
      step(t0, "local stack up: " + stack.services().stream().map(LocalService::name).toList());

      importEmojiIfMissing(config, spec);
      step(t0, "data in s3://" + config.s3Bucket() + "/emoji/");

      try (TemporalConnection temporal = TemporalConnection.connect(config)) {
        StudyCommand.startAndFollow(temporal.client(), spec, true);
      }
      step(t0, "study " + studyId + " done");
      StudyTables.print(Services.database(config), studyId, System.out);
      printHowToBrowse(config, stack, studyId);
    } catch (Exception e) {
      if (workers != null) {
        workers.close();
      }
      stack.close();
      if (e instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException(e.getMessage(), e);
    }
    if (exit) {
      System.exit(0); // the shutdown hook stops the worker and the stack
    }
    System.out.println("\nThe stack stays up for browsing; Ctrl-C stops it.");
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The demo's data: imported once, then reused (import is deterministic). */
  static void importEmojiIfMissing(FlipflowConfig config, StudySpec spec) {
    S3Uri train = S3Uri.parse(spec.baseRun().dataUri());
    S3Uri root = train.parent();
    try (S3Store store = S3Store.create(Services.s3(config))) {
      if (store.exists(root.resolve("tokenizer.json")) && !store.list(train).isEmpty()) {
        System.out.println("  emoji sets already in " + root + ": reused");
        return;
      }
      NpmPackages npm = NpmPackages.defaultCache();
      Map<String, EmojiImporter.Sources> sources = new LinkedHashMap<>();
      for (String style : List.of("google", "openmoji")) {
        sources.put(style, EmojiImporter.Sources.fetch(npm, style));
      }
      EmojiImporter.Result r = new EmojiImporter(store, 1000).importStyles(sources, root);
      System.out.printf(
          "  imported %s: %,d training images, eval sets %s%n",
          r.style(), r.trainSamples(), r.evalCounts());
    }
  }

  private static void step(long t0, String what) {
    System.out.printf("[%5.0f s] %s%n", (System.nanoTime() - t0) / 1e9, what);
  }

  private static void printHowToBrowse(FlipflowConfig config, LocalStack stack, String studyId) {
    System.out.println("\nBrowse the runs:");
    if (stack.temporal() != null && stack.temporal().isDevServer()) {
      System.out.println("  Temporal UI:   http://127.0.0.1:" + config.temporalUiPort());
      System.out.println(
          "  Temporal CLI:  TEMPORAL_ADDRESS="
              + config.temporalAddress()
              + " temporal workflow list -q \"FlipStudy = '"
              + studyId
              + "'\"");
    }
    if (stack.postgres() != null) {
      for (String line : stack.postgres().howToReach()) {
        System.out.println("  " + line);
      }
    }
    System.out.println(
        "  e.g. SELECT * FROM v_table1a_mask_ratio WHERE study_id = '" + studyId + "';");
    if (stack.s3() != null) {
      System.out.println("  " + stack.s3().howToReach().get(1));
    }
  }
}
