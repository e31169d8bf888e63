package io.flipflow.activities.eval;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.checkpoint.CheckpointState;
import io.flipflow.activities.checkpoint.CheckpointStore;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.StageData;
import io.flipflow.activities.data.tokenizer.CaptionTokenizer;
import io.flipflow.activities.device.DevicePool;
import io.flipflow.activities.model.ClipModel;
import io.flipflow.activities.support.ActivityFailures;
import io.flipflow.activities.support.Heartbeater;
import io.flipflow.activities.tensorboard.RunCurves;
import io.flipflow.db.DataIssueStore;
import io.flipflow.db.Database;
import io.flipflow.db.EvalStore;
import io.flipflow.workflows.activities.EvaluationActivities;
import io.flipflow.workflows.plan.EvaluationRequest;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.EvalMetric;
import io.flipflow.workflows.result.EvalProgress;
import io.flipflow.workflows.result.EvalReport;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.failure.CanceledFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Zero-shot evaluation of a checkpoint on the gpu queue. Every set under the request's URIs (each
 * folder holding an {@code eval.json}) is staged to local disk and evaluated with full images; the
 * first URI's classification sets (unseen split) of a model not yet tuned unmasked are also
 * evaluated with masked images (FLIP's Table 1d: one view and an ensemble of views). Results go to
 * {@code eval_results} and, as clip_benchmark JSON, next to the checkpoint in S3.
 *
 * <p>Over 350 lines: one phase's sets, views, record, JSON and curves in the order they happen.
 */
public final class EvaluationActivitiesImpl implements EvaluationActivities {
  private static final Logger log = LoggerFactory.getLogger(EvaluationActivitiesImpl.class);

  /** Masked-inference ablation: the ratio for an unmasked model (or one of unknown ratio). */
  static final double ABLATION_MASK_RATIO = 0.5;

  /**
   * Table 1d masks each model at the ratio it was trained at (the paper's protocol); an unmasked
   * model has none of its own, and is masked at 0.5 to show what masking costs a CLIP model.
   */
  static double ablationMaskRatio(Double trainMaskRatio) {
    return trainMaskRatio == null || trainMaskRatio <= 0 ? ABLATION_MASK_RATIO : trainMaskRatio;
  }

  static final int ABLATION_VIEWS = 4;
  static final String SEEN = "seen";
  // an eval.json names a task, a dataset and a split: a few hundred bytes
  static final long MAX_EVAL_JSON_BYTES = 64 * 1024;
  // inference batch: on 2 CPU cores the tiny preset embeds 1.25x as many images a second at 128
  // as at 256 (medians of 6 alternating rounds, 323 vs 258), whose activations outgrow the caches
  static final int BATCH = 128;

  private final S3Store store;
  private final Path workDir;
  private final Database db;
  private final DevicePool devices;
  private final PixelCache pixels;
  private final Path tensorboardDir;

  /**
   * @param devices the worker's devices: evaluation leases what the request's {@code device} asks
   *     for and encodes on the first device of the lease
   */
  public EvaluationActivitiesImpl(S3Store store, Path workDir, Database db, DevicePool devices) {
    this(store, workDir, db, devices, PixelCache.none());
  }

  /**
   * @param pixels the worker's cache of decoded evaluation images, shared by every evaluation it
   *     runs ({@code worker.eval_cache_bytes})
   */
  public EvaluationActivitiesImpl(
      S3Store store, Path workDir, Database db, DevicePool devices, PixelCache pixels) {
    this(store, workDir, db, devices, pixels, null);
  }

  /**
   * @param tensorboardDir where the results also go as TensorBoard scalars ({@code RUN/eval-PHASE},
   *     at the checkpoint's step), copied beside the clip_benchmark JSON; null: not at all
   */
  public EvaluationActivitiesImpl(
      S3Store store,
      Path workDir,
      Database db,
      DevicePool devices,
      PixelCache pixels,
      Path tensorboardDir) {
    this.store = store;
    this.workDir = workDir;
    this.db = db;
    this.devices = devices;
    this.pixels = pixels;
    this.tensorboardDir = tensorboardDir;
  }

  @Override
  public EvalReport evaluateCheckpoint(EvaluationRequest request) {
    ActivityExecutionContext context = Activity.getExecutionContext();
    String workflowId =
        request.recordUnder() != null ? request.recordUnder() : context.getInfo().getWorkflowId();
    Path dir =
        workDir
            .resolve(context.getInfo().getWorkflowId())
            .resolve("eval-" + request.phase() + "-" + context.getInfo().getAttempt());
    try (Heartbeater heartbeat =
        Heartbeater.start(context, new EvalProgress("", "loading checkpoint", 0, 0))) {
      return ActivityFailures.run(
          () -> {
            try {
              return evaluate(request, workflowId, dir, heartbeat);
            } finally {
              deleteQuietly(dir);
            }
          });
    }
  }

  @Override
  @Deprecated
  public EvalReport evaluate(RunSpec spec, CheckpointRef checkpoint, String phase) {
    // pipelines of that version did not pass the tokenizer on: find it as their staging did
    String tokenizer = StageData.findTokenizer(store, S3Uri.parse(spec.dataUri())).toString();
    return evaluateCheckpoint(
        new EvaluationRequest(
            phase,
            checkpoint,
            spec.evalSetUris(),
            tokenizer,
            spec.modelPreset(),
            spec.device(),
            spec.seed(),
            null,
            spec.maskRatio()));
  }

  /**
   * The work itself, usable outside an activity (the {@code flipflow eval} path, tests); {@code
   * heartbeat} may be null there. Results are recorded under {@code workflowId}.
   */
  public EvalReport evaluate(
      EvaluationRequest request, String workflowId, Path dir, Heartbeater heartbeat)
      throws Exception {
    CheckpointRef checkpoint = request.checkpoint();
    S3Uri checkpointUri = S3Uri.parse(checkpoint.uri());
    Path local = new CheckpointStore(store).download(checkpointUri, dir.resolve("checkpoint"));
    CheckpointState state = CheckpointDir.readState(local);
    if (request.modelPreset() != null && !state.preset().name().equals(request.modelPreset())) {
      throw new IllegalArgumentException(
          "checkpoint "
              + checkpoint.uri()
              + " is of preset "
              + state.preset().name()
              + " but the request names "
              + request.modelPreset());
    }
    // the tokenizer a checkpoint carries is the one it was trained with; a format-1 checkpoint
    // carries none and needs the request's
    Optional<byte[]> carried = CheckpointDir.tokenizer(local);
    if (request.tokenizerUri() == null && carried.isEmpty()) {
      throw new IllegalArgumentException(
          "tokenizerUri: the evaluation of "
              + checkpoint.uri()
              + " names no tokenizer, and the checkpoint carries none (format 1);"
              + " give the run spec it was trained with");
    }
    String tokenizerSource =
        carried.isPresent()
            ? checkpoint.uri() + "!" + CheckpointDir.TOKENIZER
            : request.tokenizerUri();
    byte[] tokenizerJson =
        carried.isPresent() ? carried.get() : store.getBytes(S3Uri.parse(request.tokenizerUri()));
    Map<String, List<S3Uri>> sets = setsToEvaluate(request);
    List<EvalResult> results = new ArrayList<>();
    List<DataIssueStore.DataIssueRow> issues = Collections.synchronizedList(new ArrayList<>());
    try (DevicePool.Lease lease = devices.lease(request.device());
        ClipModel model = CheckpointDir.loadModel(local, lease.devices().get(0));
        CaptionTokenizer tokenizer =
            CaptionTokenizer.load(tokenizerJson, state.preset().contextLength(), tokenizerSource)) {
      ClipImageTextEncoder encoder = new ClipImageTextEncoder(model, tokenizer);
      EmbeddingMemo memo = EmbeddingMemo.forOneModel();
      boolean first = true;
      for (List<S3Uri> leaves : sets.values()) {
        for (S3Uri leaf : leaves) {
          long setStarted = System.nanoTime();
          StagedSet staged = stageSet(leaf, dir.resolve("sets"));
          Path setDir = staged.dir();
          JsonObject meta =
              JsonParser.parseString(Files.readString(setDir.resolve("eval.json")))
                  .getAsJsonObject();
          String task = meta.get("task").getAsString();
          String dataset = meta.get("dataset").getAsString();
          String split = meta.has("split") ? meta.get("split").getAsString() : "all";
          SkippedSampleListener skipped =
              (entry, reason) ->
                  issues.add(
                      new DataIssueStore.DataIssueRow(
                          leaf.toString(), entry, "", reason, workflowId));
          ZeroShotEvaluator evaluator =
              new ZeroShotEvaluator(
                  encoder,
                  BATCH,
                  (what, done, total) -> {
                    if (heartbeat != null) {
                      heartbeat.update(new EvalProgress(dataset + "/" + split, what, done, total));
                      if (heartbeat.stopRequested()) {
                        // between batches: the device lease goes back as this unwinds
                        throw new CanceledFailure(
                            "evaluation stopped ("
                                + heartbeat.stopReason()
                                + ") in "
                                + dataset
                                + "/"
                                + split
                                + " after "
                                + done
                                + " of "
                                + total
                                + " "
                                + what);
                      }
                    }
                  },
                  pixels,
                  staged.contentScope(),
                  memo);
          if (task.equals(EvalResult.ZEROSHOT_CLASSIFICATION)) {
            List<InferenceView> views = new ArrayList<>(List.of(InferenceView.full()));
            // the ablation is FLIP's Table 1d on unseen concepts (not worth 5x the work elsewhere),
            // on models before unmasked tuning as in the paper ("our ablation experiments thus far
            // do not involve unmasked tuning")
            if (first && split.equals("unseen") && !request.phase().equals(TUNED)) {
              double ratio = ablationMaskRatio(request.trainMaskRatio());
              views.add(InferenceView.masked(ratio, request.seed()));
              views.add(InferenceView.ensemble(ratio, ABLATION_VIEWS, request.seed()));
            }
            results.addAll(
                evaluator.classification(
                    WebDatasetClassificationReader.read(dataset, setDir, skipped), split, views));
          } else if (task.equals(EvalResult.ZEROSHOT_RETRIEVAL)) {
            results.addAll(
                evaluator.retrieval(
                    WebDatasetRetrievalReader.read(dataset, setDir, skipped),
                    split,
                    List.of(InferenceView.full()),
                    1,
                    5,
                    10));
          } else {
            throw new IllegalArgumentException(leaf + "eval.json: unknown task '" + task + "'");
          }
          log.info(
              "{} {} {}/{}: {} in {} s ({})",
              workflowId,
              request.phase(),
              dataset,
              split,
              task,
              String.format(java.util.Locale.ROOT, "%.1f", (System.nanoTime() - setStarted) / 1e9),
              evaluator.work());
        }
        first = false;
      }
    }
    if (results.isEmpty()) {
      throw new IllegalArgumentException(
          "no evaluation set (a folder with eval.json) under " + request.evalSetUris());
    }
    record(workflowId, request.phase(), checkpoint, results, issues);
    String jsonFolder = writeClipBenchmarkJson(state, checkpointUri, request.phase(), results, dir);
    writeCurves(workflowId, request.phase(), checkpoint.step(), results, S3Uri.parse(jsonFolder));
    List<EvalMetric> full =
        results.stream()
            .filter(r -> r.inference().equals(InferenceView.full().label()))
            .map(r -> new EvalMetric(r.task(), r.dataset(), r.split(), r.metric(), r.value()))
            .toList();
    return new EvalReport(full, jsonFolder);
  }

  /**
   * The sets to evaluate by the URI they were found under, in order: every folder holding an
   * eval.json, less the splits of seen concepts where the request leaves them out and another split
   * is left (a pretrained checkpoint that unmasked tuning follows: the ablation tables read
   * held-out concepts only, and the tuned checkpoint is evaluated on everything).
   */
  Map<String, List<S3Uri>> setsToEvaluate(EvaluationRequest request) {
    Map<String, List<S3Store.ObjectInfo>> all = new LinkedHashMap<>();
    for (String setUri : request.evalSetUris()) {
      all.put(setUri, evalJsonFiles(S3Uri.parse(setUri)));
    }
    Map<String, List<S3Uri>> sets = new LinkedHashMap<>();
    List<String> leftOut = new ArrayList<>();
    all.forEach(
        (setUri, files) -> {
          List<S3Uri> kept = new ArrayList<>();
          for (S3Store.ObjectInfo file : files) {
            if (request.leavesOutSeenSplits() && SEEN.equals(splitOf(file))) {
              leftOut.add(file.uri().parent().toString());
            } else {
              kept.add(file.uri().parent());
            }
          }
          sets.put(setUri, kept);
        });
    if (sets.values().stream().allMatch(List::isEmpty)) {
      log.info("{}: only seen-concept splits, so all of them are evaluated", request.evalSetUris());
      all.forEach(
          (setUri, files) -> sets.put(setUri, files.stream().map(f -> f.uri().parent()).toList()));
    } else if (!leftOut.isEmpty()) {
      log.info(
          "{} checkpoint: seen-concept splits left out until after unmasked tuning"
              + " (evalBeforeTuning: held_out): {}",
          request.phase(),
          leftOut);
    }
    return sets;
  }

  /** The eval.json of every set under {@code root} (or of root itself), in order. */
  private List<S3Store.ObjectInfo> evalJsonFiles(S3Uri root) {
    List<S3Store.ObjectInfo> files =
        store.list(root).stream().filter(o -> o.uri().fileName().equals("eval.json")).toList();
    if (files.isEmpty()) {
      throw new IllegalArgumentException(
          "evalSetUris: " + root + " holds no evaluation set (no eval.json under it)");
    }
    return files;
  }

  /** A set's {@code split} as its eval.json names it ({@code all} where it names none). */
  private String splitOf(S3Store.ObjectInfo evalJson) {
    if (evalJson.size() > MAX_EVAL_JSON_BYTES) {
      throw new IllegalArgumentException(
          evalJson.uri()
              + ": "
              + evalJson.size()
              + " bytes, more than an eval.json's "
              + MAX_EVAL_JSON_BYTES);
    }
    try {
      JsonObject meta =
          JsonParser.parseString(
                  new String(
                      store.getBytes(evalJson.uri()), java.nio.charset.StandardCharsets.UTF_8))
              .getAsJsonObject();
      return meta.has("split") ? meta.get("split").getAsString() : "all";
    } catch (com.google.gson.JsonParseException
        | IllegalStateException
        | UnsupportedOperationException e) {
      throw new IllegalArgumentException(
          evalJson.uri() + ": not a JSON object with a string 'split' (" + e.getMessage() + ")", e);
    }
  }

  /**
   * A set on local disk, and what identifies its content: its URI and every object's ETag, so
   * cached pixels of a set that changed under the same URI are never reused.
   */
  private record StagedSet(Path dir, String contentScope) {}

  /** Copies one set's objects (shards, eval.json, classes, templates) to local disk. */
  private StagedSet stageSet(S3Uri leaf, Path root) {
    Path dir = root.resolve(leaf.bucket()).resolve(leaf.prefix());
    StringBuilder scope = new StringBuilder(leaf.toString());
    for (S3Store.ObjectInfo o : store.list(leaf)) {
      String rest = o.uri().key().substring(leaf.prefix().length());
      if (!rest.contains("/")) {
        store.download(o.uri(), dir.resolve(rest));
        scope.append(' ').append(rest).append('=').append(o.etag());
      }
    }
    return new StagedSet(dir, sha256(scope.toString()));
  }

  private static String sha256(String s) {
    try {
      return java.util.HexFormat.of()
          .formatHex(
              java.security.MessageDigest.getInstance("SHA-256")
                  .digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void record(
      String workflowId,
      String phase,
      CheckpointRef checkpoint,
      List<EvalResult> results,
      List<DataIssueStore.DataIssueRow> issues)
      throws Exception {
    db.evaluations()
        .recordEvalResults(
            results.stream()
                .map(
                    r ->
                        new EvalStore.EvalRow(
                            workflowId,
                            phase,
                            checkpoint.uri(),
                            r.task(),
                            r.dataset(),
                            r.split(),
                            r.inference(),
                            r.metric(),
                            r.value(),
                            r.n()))
                .toList());
    db.dataIssues().record(issues);
  }

  /**
   * Results as scalars {@code eval/DATASET/SPLIT/METRIC} (and {@code /INFERENCE} when not full).
   */
  private void writeCurves(
      String run, String phase, long step, List<EvalResult> results, S3Uri besideJson) {
    Map<String, Double> values = new LinkedHashMap<>();
    for (EvalResult r : results) {
      String view = r.inference().equals(InferenceView.full().label()) ? "" : "/" + r.inference();
      values.put("eval/" + r.dataset() + "/" + r.split() + "/" + r.metric() + view, r.value());
    }
    String part = "eval-" + phase.replaceAll("[^A-Za-z0-9_.-]", "_");
    try (RunCurves curves = RunCurves.open(tensorboardDir, store, besideJson, run, part, step)) {
      curves.scalars(step, values);
    }
  }

  /**
   * One clip_benchmark JSON per (set, split, task, view), in a folder beside the checkpoint; its
   * {@code model} is the checkpoint's name outside flipflow (what {@code flipflow export} calls
   * it).
   */
  private String writeClipBenchmarkJson(
      CheckpointState state, S3Uri checkpoint, String phase, List<EvalResult> results, Path dir)
      throws IOException {
    Path out = dir.resolve("clip_benchmark");
    List<Path> files =
        ClipBenchmarkJson.write(
            out, results, state.modelName(), state.preset().name(), checkpoint.toString(), "en");
    String base = checkpoint.toString().replaceAll("\\.tar$", "");
    S3Uri folder = S3Uri.parse(base + "-eval-" + phase + "/");
    for (Path f : files) {
      store.put(folder.resolve(f.getFileName().toString()), Files.readAllBytes(f));
    }
    return folder.toString();
  }

  private static void deleteQuietly(Path dir) {
    try {
      if (Files.exists(dir)) {
        CheckpointDir.deleteRecursively(dir);
      }
    } catch (IOException | RuntimeException ignored) {
      // scratch space; the next attempt overwrites it
    }
  }
}
