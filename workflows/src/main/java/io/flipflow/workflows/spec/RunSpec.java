package io.flipflow.workflows.spec;

import io.soabase.recordbuilder.core.RecordBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One FLIP run: masked pretraining, optional unmasked tuning, zero-shot evaluation. This is the
 * JSON users write in {@code config/runs/} and pass to {@code FlipPipelineWorkflow}. Missing
 * optional fields get the defaults below (the spec's defaults live here and nowhere else); {@link
 * #validate()} names every bad field. Copies with changed fields: {@code spec.with().name(..)
 * .build()} or {@code spec.withName(..)} ({@link RunSpecBuilder}, generated).
 *
 * @param name display name, e.g. {@code emoji-tiny-mask50}
 * @param studyId the study this run belongs to, null for a lone run
 * @param modelPreset a preset of {@code config/models/}, e.g. {@code tiny-emoji}
 * @param dataUri training shards: an s3:// prefix or a brace pattern ({@code
 *     s3://b/p/{00000..00041}.tar})
 * @param evalSetUris evaluation sets (s3:// URIs), at least one; the first gives the headline top-1
 * @param imageSize input side in pixels; null (the default) takes the preset's, which is the only
 *     size a preset accepts (checked against it when the workflow starts)
 * @param maskRatio fraction of image patches dropped in pretraining, in [0, 1)
 * @param batchSize samples per optimizer step
 * @param steps schedule length in optimizer steps; give this or {@code samples}
 * @param samples schedule length in samples seen; give this or {@code steps}
 * @param dataSamples train on a fixed subset of this many staged samples (the data-size axis; the
 *     same subset for every run with this value, and nested in the subsets of larger values); null
 *     for all
 * @param baseLr learning rate per 256 samples, scaled linearly with the batch size
 * @param warmupSamples linear warmup length in samples, before the cosine decay; null (the default)
 *     for a twentieth of the schedule ({@link #effectiveWarmupSamples()}: FLIP warms up for a fixed
 *     number of samples chosen for 400M-sample epochs, which a small schedule cannot copy). Left
 *     null in the record, so a study's schedule axis gives each cell its own.
 * @param weightDecay AdamW weight decay on every weight matrix and embedding table (FLIP's and
 *     OpenCLIP's groups); default 0.2 (FLIP's)
 * @param adamBeta2 AdamW's second-moment decay; default 0.95 (FLIP's; CLIP and OpenCLIP use 0.98)
 * @param gradClipNorm global gradient-norm clip, 0 for none; default 0 (FLIP clips nothing)
 * @param textMaskRatio fraction of each caption's token positions dropped in pretraining (FLIP's
 *     Table 1c ablation; the end-of-text position is always kept); null (the default) for none.
 *     Unmasked tuning never masks text. Part of the identity only when set.
 * @param textMasking {@code random} (the default) or {@code prioritized} (padding first)
 * @param seed seeds initialisation, masking and data order; default 0
 * @param checkpointIntervalSteps steps between checkpoints; default 200
 * @param device {@code cpu}, {@code cuda} or {@code cuda:N}, the device of each process; default
 *     cpu
 * @param unmaskedTuning tuning after pretraining; default enabled, 5% of samples, LR x 0.1, a fresh
 *     optimizer warming up over a tenth of the stage
 * @param wallClockBudgetSeconds when set, pretraining ends (with a checkpoint) once it has trained
 *     this long, even before its schedule ends; the trainer paces its LR schedule by the share of
 *     the budget used, so a budgeted run still completes its decay. {@code steps}/{@code samples}
 *     stay an upper bound. Null for no budget.
 * @param precision {@code fp32}, {@code bf16} (autocast: matrix products and attention in bfloat16;
 *     norms, softmax, the loss, master weights and AdamW in float32) or {@code fp16} (the same in
 *     float16, with dynamic loss scaling); null (the default, and every spec written before the
 *     field existed) means fp32. Training refuses a mixed precision, naming why, where its worker's
 *     engine cannot do it (the native extension is not built there).
 * @param resume true to continue an existing run of this name, which must have been started with
 *     the same spec; refused when there is none. A run of the same name and spec continues anyway;
 *     one of the same name and another spec is always refused. Not part of the run's identity
 *     ({@link #fingerprint()}).
 * @param initFrom a checkpoint ({@code s3://.../NAME.tar}, e.g. from {@code flipflow import}) whose
 *     weights pretraining starts from, with a fresh optimizer at step 0 (fine-tuning a model one
 *     already has, with masking); the model is the checkpoint's, and {@code modelPreset} names its
 *     preset. Null (the default) starts from the seed. Part of the identity only when set, so specs
 *     without it keep their fingerprints.
 * @param reconstruction FLIP's Table 1f: an MAE-style decoder's pixel loss added to pretraining's
 *     (never to tuning's); null (the default) for none. Part of the identity only when set.
 * @param attention {@code explicit} (softmax of the scaled products, written out) or {@code fused}
 *     (libtorch's {@code scaled_dot_product_attention}, the same function in fewer passes over
 *     memory); null (the default) means explicit. Part of the identity only when set.
 * @param ranks data-parallel processes the training stages run on (world size), one device and one
 *     gpu worker process each, started together and restarted together from the newest checkpoint
 *     when one fails; the batch is split over them, the loss is over the whole batch. Null (the
 *     default) or 1: one process. Not part of the identity: the ranks train what one process would.
 * @param dataSampling how training takes the staged shards: {@code shuffled} (each epoch every
 *     shard once, in a seeded order of its own, samples shuffled within windows of shards) or
 *     {@code resampled} (each window's shards drawn with replacement, as WebDataset's resampled
 *     mode and OpenCLIP's {@code --dataset-resampled}: no epochs, for sets far larger than a run
 *     sees); null (the default) means shuffled. Part of the identity only when resampled.
 * @param dataStreams the global batch is assembled from this many streams over disjoint shares of
 *     the shards (B/N consecutive rows each, each stream its own shuffled or resampled order), and
 *     rank r of R reads only streams r*N/R onward: the ranks download disjoint shares of the set,
 *     as WebDataset's split by node does, while what is trained stays independent of R for every R
 *     dividing N. Text masks are then drawn per row. Null (the default) or 1: one stream over all
 *     shards, which every rank reads the captions of. At most the set's shards; part of the
 *     identity only when above 1.
 * @param evalBeforeTuning what the evaluation of the pretrained checkpoint covers when unmasked
 *     tuning follows it: {@code held_out} (the default) every set but the splits of seen concepts,
 *     which is what the ablation tables read before tuning (FLIP's ablations report zero-shot
 *     accuracy on held-out classes only; the full suite is for final models); {@code all} every
 *     set, as the tuned checkpoint is. Without tuning the pretrained evaluation is the run's last
 *     and covers every set whatever this says. Part of the identity only when {@code all}.
 */
@RecordBuilder
public record RunSpec(
    String name,
    String studyId,
    String modelPreset,
    String dataUri,
    List<String> evalSetUris,
    Integer imageSize,
    Double maskRatio,
    Integer batchSize,
    Long steps,
    Long samples,
    Long dataSamples,
    Double baseLr,
    Long warmupSamples,
    Double weightDecay,
    Double adamBeta2,
    Double gradClipNorm,
    Double textMaskRatio,
    String textMasking,
    Long seed,
    Integer checkpointIntervalSteps,
    String device,
    UnmaskedTuning unmaskedTuning,
    Long wallClockBudgetSeconds,
    String precision,
    Boolean resume,
    String initFrom,
    Reconstruction reconstruction,
    String attention,
    Integer ranks,
    String dataSampling,
    Integer dataStreams,
    String evalBeforeTuning)
    implements RunSpecBuilder.With {

  /**
   * FLIP's recipe (Li et al. 2022, Appendix A), stated once: AdamW (0.9, 0.95), weight decay 0.2,
   * no gradient clipping, linear warmup then cosine decay, learning rate given per 256 samples.
   */
  public static final double DEFAULT_WEIGHT_DECAY = 0.2;

  public static final double ADAM_BETA1 = 0.9;
  public static final double DEFAULT_ADAM_BETA2 = 0.95;
  public static final double ADAM_EPSILON = 1e-6;
  public static final double DEFAULT_GRAD_CLIP_NORM = 0.0;
  public static final double DEFAULT_WARMUP_FRACTION = 0.05;
  public static final int DEFAULT_CHECKPOINT_INTERVAL_STEPS = 200;
  public static final String DEFAULT_DEVICE = "cpu";

  private static final Pattern PRESET = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

  /**
   * Names of runs and studies: they become workflow ids, S3 keys and folder names, so no '/', no
   * NUL, no spaces, and not starting with a dot.
   */
  public static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

  public static final int MAX_NAME_LENGTH = 200;
  public static final int MAX_STUDY_ID_LENGTH = 100;

  /** A year: budgets beyond it are mistakes, and nanoseconds of it still fit a long. */
  public static final long MAX_WALL_CLOCK_BUDGET_SECONDS = 366L * 24 * 3600;

  /** The most data-parallel ranks a run may ask for. */
  public static final int MAX_RANKS = 4096;

  private static final Pattern DEVICE = Pattern.compile("cpu|cuda(:\\d+)?");
  private static final Pattern PRECISION = Pattern.compile("fp32|bf16|fp16");
  private static final Pattern ATTENTION = Pattern.compile("explicit|fused");
  private static final Pattern TEXT_MASKING = Pattern.compile("random|prioritized");
  private static final Pattern DATA_SAMPLING = Pattern.compile("shuffled|resampled");
  public static final String EVAL_HELD_OUT = "held_out";
  public static final String EVAL_ALL = "all";

  public RunSpec {
    evalSetUris = evalSetUris == null ? List.of() : List.copyOf(evalSetUris);
    weightDecay = weightDecay == null ? DEFAULT_WEIGHT_DECAY : weightDecay;
    adamBeta2 = adamBeta2 == null ? DEFAULT_ADAM_BETA2 : adamBeta2;
    gradClipNorm = gradClipNorm == null ? DEFAULT_GRAD_CLIP_NORM : gradClipNorm;
    seed = seed == null ? 0L : seed;
    checkpointIntervalSteps =
        checkpointIntervalSteps == null
            ? DEFAULT_CHECKPOINT_INTERVAL_STEPS
            : checkpointIntervalSteps;
    device = device == null ? DEFAULT_DEVICE : device;
    unmaskedTuning = unmaskedTuning == null ? UnmaskedTuning.defaults() : unmaskedTuning;
  }

  /** Every problem of this spec, each naming its field; empty when the spec is valid. */
  public List<String> validate() {
    List<String> errors = new ArrayList<>();
    String nameProblem = idProblem(name, MAX_NAME_LENGTH);
    if (nameProblem != null) {
      errors.add("name: " + nameProblem);
    }
    if (studyId != null) {
      String studyProblem = idProblem(studyId, MAX_STUDY_ID_LENGTH);
      if (studyProblem != null) {
        errors.add("studyId: " + studyProblem + "; leave it out for a lone run");
      }
    }
    if (modelPreset == null || modelPreset.isBlank()) {
      errors.add("modelPreset: is missing; name a preset of config/models/, e.g. tiny-emoji");
    } else if (!PRESET.matcher(modelPreset).matches()) {
      errors.add("modelPreset: '" + modelPreset + "' is not a preset name (letters, digits, .-_)");
    }
    String dataProblem = S3Uris.problem(dataUri);
    if (dataProblem != null) {
      errors.add("dataUri: " + dataProblem);
    }
    if (evalSetUris.isEmpty()) {
      errors.add("evalSetUris: at least one evaluation set URI is required");
    }
    for (int i = 0; i < evalSetUris.size(); i++) {
      String problem = S3Uris.problem(evalSetUris.get(i));
      if (problem != null) {
        errors.add("evalSetUris[" + i + "]: " + problem);
      }
    }
    if (imageSize != null && imageSize <= 0) {
      errors.add("imageSize: must be a positive number of pixels or left out, got " + imageSize);
    }
    if (maskRatio == null || !(maskRatio >= 0 && maskRatio < 1)) {
      errors.add("maskRatio: must be in [0, 1), got " + maskRatio);
    }
    if (batchSize == null || batchSize <= 0) {
      errors.add("batchSize: must be positive, got " + batchSize);
    }
    boolean hasSteps = steps != null;
    boolean hasSamples = samples != null;
    if (hasSteps == hasSamples) {
      errors.add(
          "steps/samples: give exactly one schedule length, got steps="
              + steps
              + " samples="
              + samples);
    } else if (hasSteps && steps <= 0) {
      errors.add("steps: must be positive, got " + steps);
    } else if (hasSamples && samples <= 0) {
      errors.add("samples: must be positive, got " + samples);
    }
    if (dataSamples != null && dataSamples <= 0) {
      errors.add("dataSamples: must be positive or left out for all the data, got " + dataSamples);
    }
    if (baseLr == null || !(baseLr > 0) || baseLr.isInfinite()) {
      errors.add("baseLr: must be positive, got " + baseLr);
    }
    if (warmupSamples != null && warmupSamples < 0) {
      errors.add("warmupSamples: must be >= 0, got " + warmupSamples);
    } else if (hasSteps != hasSamples
        && batchSize != null
        && batchSize > 0
        && scheduleSamples() != null
        && scheduleSamples() > 0
        && effectiveWarmupSamples() > scheduleSamples()) {
      errors.add(
          "warmupSamples: "
              + warmupSamples
              + " is longer than the whole schedule of "
              + scheduleSamples()
              + " samples");
    }
    if (!(weightDecay >= 0) || weightDecay.isInfinite()) {
      errors.add("weightDecay: must be >= 0, got " + weightDecay);
    }
    if (!(adamBeta2 > 0 && adamBeta2 < 1)) {
      errors.add("adamBeta2: must be in (0, 1), got " + adamBeta2);
    }
    if (textMaskRatio != null && !(textMaskRatio >= 0 && textMaskRatio < 1)) {
      errors.add("textMaskRatio: must be in [0, 1) or left out, got " + textMaskRatio);
    }
    if (textMasking != null && !TEXT_MASKING.matcher(textMasking).matches()) {
      errors.add("textMasking: must be random or prioritized, got '" + textMasking + "'");
    } else if (textMasking != null && textMaskRatio == null) {
      errors.add("textMasking: names how to mask text, but textMaskRatio is not set");
    }
    if (!(gradClipNorm >= 0) || gradClipNorm.isInfinite()) {
      errors.add("gradClipNorm: must be >= 0 (0 = no clipping), got " + gradClipNorm);
    }
    if (checkpointIntervalSteps <= 0) {
      errors.add("checkpointIntervalSteps: must be positive, got " + checkpointIntervalSteps);
    }
    if (!DEVICE.matcher(device).matches()) {
      errors.add(
          "device: must be cpu, cuda or cuda:N, got '"
              + device
              + "'"
              + (device.contains(",")
                  ? " (one device per process; set ranks to train on several)"
                  : ""));
    }
    unmaskedTuning.validate("unmaskedTuning.", errors);
    if (wallClockBudgetSeconds != null
        && (wallClockBudgetSeconds <= 0
            || wallClockBudgetSeconds > MAX_WALL_CLOCK_BUDGET_SECONDS)) {
      errors.add(
          "wallClockBudgetSeconds: must be in [1, "
              + MAX_WALL_CLOCK_BUDGET_SECONDS
              + "] (a year) or left out, got "
              + wallClockBudgetSeconds);
    }
    if (precision != null && !PRECISION.matcher(precision).matches()) {
      errors.add(
          "precision: must be fp32, bf16 or fp16, or left out for fp32, got '" + precision + "'");
    }
    if (attention != null && !ATTENTION.matcher(attention).matches()) {
      errors.add(
          "attention: must be explicit or fused, or left out for explicit, got '"
              + attention
              + "'");
    }
    if (dataSampling != null && !DATA_SAMPLING.matcher(dataSampling).matches()) {
      errors.add(
          "dataSampling: must be shuffled or resampled, or left out for shuffled, got '"
              + dataSampling
              + "'");
    }
    if (evalBeforeTuning != null
        && !EVAL_HELD_OUT.equals(evalBeforeTuning)
        && !EVAL_ALL.equals(evalBeforeTuning)) {
      errors.add(
          "evalBeforeTuning: must be held_out or all, or left out for held_out, got '"
              + evalBeforeTuning
              + "'");
    }
    if (dataStreams != null) {
      if (dataStreams < 1 || dataStreams > MAX_RANKS) {
        errors.add(
            "dataStreams: must be in [1, " + MAX_RANKS + "] or left out for 1, got " + dataStreams);
      } else if (batchSize != null && batchSize > 0 && batchSize % dataStreams != 0) {
        errors.add(
            "dataStreams: the batch of "
                + batchSize
                + " does not split evenly over "
                + dataStreams
                + " streams");
      } else if (dataStreams > 1 && ranks != null && ranks > 1 && dataStreams % ranks != 0) {
        errors.add(
            "dataStreams: "
                + dataStreams
                + " streams do not split evenly over "
                + ranks
                + " ranks; use a multiple of ranks");
      }
    }
    if (ranks != null) {
      if (ranks < 1 || ranks > MAX_RANKS) {
        errors.add("ranks: must be in [1, " + MAX_RANKS + "] or left out for 1, got " + ranks);
      } else if (ranks > 1) {
        if (batchSize != null && batchSize % ranks != 0) {
          errors.add(
              "ranks: the batch of "
                  + batchSize
                  + " does not split evenly over "
                  + ranks
                  + " ranks");
        }
        if (reconstruction != null) {
          errors.add("ranks: reconstruction (Table 1f) trains in one process");
        }
      }
    }
    if (reconstruction != null) {
      reconstruction.validate("reconstruction.", errors);
      if (maskRatio != null && maskRatio == 0) {
        errors.add("reconstruction: needs masked patches to reconstruct, but maskRatio is 0");
      }
    }
    if (initFrom != null) {
      String problem = S3Uris.problem(initFrom);
      if (problem != null) {
        errors.add("initFrom: " + problem);
      } else if (!initFrom.endsWith(".tar")) {
        errors.add("initFrom: '" + initFrom + "' is not a checkpoint (s3://.../NAME.tar)");
      }
    }
    return errors;
  }

  /** Why {@code id} is not a usable run or study name; null when it is. */
  public static String idProblem(String id, int maxLength) {
    if (id == null || id.isBlank()) {
      return "is missing";
    }
    if (id.length() > maxLength) {
      return "at most " + maxLength + " characters, got " + id.length();
    }
    if (!ID.matcher(id).matches()) {
      return "'"
          + id.replace("\0", "\\0")
          + "' may hold only letters, digits, '.', '-' and '_', starting with a letter or digit";
    }
    return null;
  }

  /** Data-parallel processes of the training stages: {@code ranks}, or 1. */
  public int worldSize() {
    return ranks == null ? 1 : ranks;
  }

  /** Streams the global batch is assembled from: {@code dataStreams}, or 1. */
  public int streamCount() {
    return dataStreams == null ? 1 : dataStreams;
  }

  /**
   * Whether the evaluation before unmasked tuning leaves out the splits of seen concepts ({@code
   * evalBeforeTuning}); only asked when tuning follows.
   */
  public boolean heldOutBeforeTuning() {
    return !EVAL_ALL.equals(evalBeforeTuning);
  }

  /** Whether this start asks to continue an existing run only. */
  public boolean resumeOnly() {
    return Boolean.TRUE.equals(resume);
  }

  /**
   * The run's identity as far as its spec goes: a SHA-256 of the spec as canonical JSON, without
   * the fields that do not change what is trained and measured ({@code name}, which is the id
   * itself; {@code device}, since a run may move between devices at a checkpoint; {@code resume};
   * {@code ranks}, which split the same global batch). Call it on the spec the workflow resolved
   * (image size taken from the preset), so leaving a default out and writing it give the same
   * fingerprint.
   */
  public String fingerprint() {
    try {
      com.fasterxml.jackson.databind.node.ObjectNode tree = CANONICAL.valueToTree(this);
      tree.remove(List.of("name", "device", "resume", "ranks"));
      tree.put("warmupSamples", effectiveWarmupSamples()); // the default written out or left out
      for (String optional :
          List.of(
              "initFrom",
              "textMaskRatio",
              "textMasking",
              "reconstruction",
              "attention",
              "dataSampling")) {
        if (tree.get(optional) == null || tree.get(optional).isNull()) {
          tree.remove(optional); // specs from before the field keep their fingerprints
        }
      }
      if ("shuffled".equals(dataSampling)) {
        tree.remove("dataSampling"); // the default written out is the run left out
      }
      if (dataStreams == null || dataStreams == 1) {
        tree.remove("dataStreams");
      }
      if (heldOutBeforeTuning()) {
        tree.remove("evalBeforeTuning"); // held_out, written out or left out
      }
      com.fasterxml.jackson.databind.node.ObjectNode tuning =
          (com.fasterxml.jackson.databind.node.ObjectNode) tree.get("unmaskedTuning");
      // written out only where it differs from how specs without the field trained before it
      // existed (fresh), so those keep their fingerprints; the carried default is another run
      if (UnmaskedTuning.FRESH.equals(unmaskedTuning.optimizer())) {
        tuning.remove("optimizer");
      }
      if (unmaskedTuning.warmupFraction() == UnmaskedTuning.DEFAULT_WARMUP_FRACTION) {
        tuning.remove("warmupFraction");
      }
      byte[] canonical = CANONICAL.writeValueAsBytes(CANONICAL.treeToValue(tree, Object.class));
      byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(canonical);
      return java.util.HexFormat.of().formatHex(digest);
    } catch (com.fasterxml.jackson.core.JsonProcessingException
        | java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot fingerprint run spec " + name, e);
    }
  }

  /** Sorted keys, nulls kept: two equal specs give the same bytes whatever the field order. */
  private static final com.fasterxml.jackson.databind.ObjectMapper CANONICAL =
      com.fasterxml.jackson.databind.json.JsonMapper.builder()
          .enable(com.fasterxml.jackson.databind.MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
          .enable(com.fasterxml.jackson.databind.SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
          .build();

  /** Schedule length in samples: {@code samples}, or {@code steps * batchSize}; null if unknown. */
  public Long scheduleSamples() {
    if (samples != null) {
      return samples;
    }
    return steps == null || batchSize == null ? null : steps * batchSize;
  }

  /** The warmup pretraining uses: {@code warmupSamples}, or a twentieth of the schedule. */
  public long effectiveWarmupSamples() {
    if (warmupSamples != null) {
      return warmupSamples;
    }
    Long schedule = scheduleSamples();
    return schedule == null ? 0L : Math.round(schedule * DEFAULT_WARMUP_FRACTION);
  }

  /**
   * Schedule length in optimizer steps: {@code steps}, or {@code samples / batchSize} rounded up;
   * only meaningful on a valid spec.
   */
  public long scheduleSteps() {
    if (steps != null) {
      return steps;
    }
    return Math.max(1, (samples + batchSize - 1) / batchSize);
  }
}
