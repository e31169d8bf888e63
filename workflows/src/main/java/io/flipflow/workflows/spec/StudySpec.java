package io.flipflow.workflows.spec;

import io.soabase.recordbuilder.core.RecordBuilder;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A scaling study: a grid over the paper's axes, each cell a {@code FlipPipelineWorkflow} started
 * from {@code baseRun} with the cell's values. The JSON users write in {@code config/studies/}.
 *
 * @param studyId id of the study; prefix of every child workflow id
 * @param description free text shown in reports
 * @param baseRun the run every cell starts from
 * @param axes the values to vary; a missing axis keeps the base's value
 * @param parallelism runs at once; set it to the GPU activity slots of the workers; default 1
 * @param budget EQUAL_SAMPLES (default) or EQUAL_WALL_CLOCK
 * @param wallClockSecondsPerRun pretraining seconds per run under EQUAL_WALL_CLOCK
 * @param maxRunsPerExecution runs one workflow execution starts before it continues as new, to keep
 *     its history small; default 100
 * @param resume true to continue the runs of an earlier study of this id (each run's {@code
 *     resume}): each must have been started with the same spec
 */
@RecordBuilder
public record StudySpec(
    String studyId,
    String description,
    RunSpec baseRun,
    StudyAxes axes,
    Integer parallelism,
    StudyBudget budget,
    Long wallClockSecondsPerRun,
    Integer maxRunsPerExecution,
    Boolean resume)
    implements StudySpecBuilder.With {

  public static final int DEFAULT_PARALLELISM = 1;
  public static final int DEFAULT_MAX_RUNS_PER_EXECUTION = 100;

  /**
   * The study's result and carried state list every run (about 250 bytes each, measured by
   * StudyAtScaleTest): 2,000 runs keep them near 0.5 MB, well under Temporal's 2 MiB payload limit,
   * which about 8,400 runs would break. Larger grids: split them into several studies.
   */
  public static final int MAX_GRID_SIZE = 2_000;

  private static final Pattern STUDY_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

  public StudySpec {
    axes = axes == null ? StudyAxes.none() : axes;
    parallelism = parallelism == null ? DEFAULT_PARALLELISM : parallelism;
    budget = budget == null ? StudyBudget.EQUAL_SAMPLES : budget;
    maxRunsPerExecution =
        maxRunsPerExecution == null ? DEFAULT_MAX_RUNS_PER_EXECUTION : maxRunsPerExecution;
  }

  /** Every problem of this study, each naming its field; empty when valid. */
  public List<String> validate() {
    List<String> errors = new ArrayList<>();
    if (studyId == null || !STUDY_ID.matcher(studyId).matches()) {
      errors.add(
          "studyId: must be 1-100 letters, digits, '.', '-' or '_' starting with a letter or"
              + " digit, got '"
              + studyId
              + "'");
    }
    if (baseRun == null) {
      errors.add("baseRun: is missing");
    }
    axes.validate(errors);
    if (parallelism < 1) {
      errors.add("parallelism: must be at least 1, got " + parallelism);
    }
    if (maxRunsPerExecution < 1) {
      errors.add("maxRunsPerExecution: must be at least 1, got " + maxRunsPerExecution);
    }
    if (budget == StudyBudget.EQUAL_WALL_CLOCK
        && (wallClockSecondsPerRun == null || wallClockSecondsPerRun <= 0)) {
      errors.add(
          "wallClockSecondsPerRun: budget EQUAL_WALL_CLOCK needs positive seconds, got "
              + wallClockSecondsPerRun);
    }
    long size = gridSize();
    if (size > MAX_GRID_SIZE) {
      errors.add("axes: the grid has " + size + " runs, at most " + MAX_GRID_SIZE);
    }
    if (!errors.isEmpty()) {
      return errors;
    }
    // Each cell's run must be valid; report each distinct problem once, naming the first run.
    Map<String, String> firstRunByProblem = new LinkedHashMap<>();
    for (StudyCell cell : expand()) {
      for (String problem : cell.spec().validate()) {
        firstRunByProblem.putIfAbsent(problem, cell.workflowId());
      }
    }
    firstRunByProblem.forEach((problem, run) -> errors.add("run " + run + ": " + problem));
    return errors;
  }

  /** Number of runs in the grid. */
  public long gridSize() {
    long size = 1;
    for (Axis<?> axis : gridAxes()) {
      size *= axis.values().size();
    }
    return size;
  }

  /**
   * One axis of the grid: its values (the base run's alone where the study does not vary it), the
   * id part of a value when it varies, and how a value sets a cell's run.
   */
  private record Axis<T>(
      List<T> values,
      boolean varied,
      Function<T, String> idPart,
      BiConsumer<RunSpecBuilder, T> apply) {
    void applyTo(RunSpecBuilder run, StringBuilder id, int index) {
      T value = values.get(index);
      if (varied) {
        id.append(idPart.apply(value));
      }
      apply.accept(run, value);
    }
  }

  private static <T> Axis<T> axis(
      List<T> values, T base, Function<T, String> idPart, BiConsumer<RunSpecBuilder, T> apply) {
    return new Axis<>(orBase(values, base), values.size() > 1, idPart, apply);
  }

  /** The axes in the grid's order; ids join the varied ones' parts in this order. */
  private List<Axis<?>> gridAxes() {
    return List.of(
        axis(axes.modelPresets(), baseRun.modelPreset(), m -> "-" + m, RunSpecBuilder::modelPreset),
        axis(
            axes.dataSamples(),
            baseRun.dataSamples(),
            d -> "-data" + d,
            RunSpecBuilder::dataSamples),
        axis(
            axes.scheduleSamples(),
            null,
            n -> "-samples" + n,
            (run, n) -> {
              if (n != null) {
                run.samples(n).steps(null);
              }
            }),
        axis(
            axes.maskRatios(),
            baseRun.maskRatio(),
            m -> "-mask" + percent(m),
            RunSpecBuilder::maskRatio),
        axis(
            axes.textMaskRatios(),
            baseRun.textMaskRatio(),
            t -> "-textmask" + percent(t),
            RunSpecBuilder::textMaskRatio),
        axis(
            axes.reconstructionWeights(),
            baseRun.reconstruction() == null ? 0.0 : baseRun.reconstruction().weight(),
            w -> "-recon" + plain(w),
            (run, w) -> run.reconstruction(withWeight(baseRun.reconstruction(), w))),
        axis(axes.batchSizes(), baseRun.batchSize(), b -> "-bs" + b, RunSpecBuilder::batchSize),
        axis(
            axes.unmaskedTunings(),
            baseRun.unmaskedTuning(),
            t -> "-tune-" + t.label(),
            RunSpecBuilder::unmaskedTuning),
        axis(axes.seeds(), baseRun.seed(), n -> "-seed" + n, RunSpecBuilder::seed));
  }

  /**
   * The grid in a fixed order (model, data size, schedule, mask ratio, text mask ratio,
   * reconstruction weight, batch size, unmasked tuning, seed; the last varies fastest).
   * Deterministic: the study workflow re-expands it after continue-as-new and keeps only an index
   * into it. Needs a spec whose axes are valid.
   */
  public List<StudyCell> expand() {
    List<Axis<?>> grid = gridAxes();
    int[] index = new int[grid.size()];
    List<StudyCell> cells = new ArrayList<>();
    while (true) {
      StringBuilder id = new StringBuilder(studyId);
      RunSpecBuilder run = baseRun.with().studyId(studyId);
      for (int a = 0; a < grid.size(); a++) {
        grid.get(a).applyTo(run, id, index[a]);
      }
      if (id.length() == studyId.length()) {
        id.append("-run");
      }
      run.name(id.toString())
          .wallClockBudgetSeconds(
              budget == StudyBudget.EQUAL_WALL_CLOCK ? wallClockSecondsPerRun : null)
          .resume(Boolean.TRUE.equals(resume) ? Boolean.TRUE : baseRun.resume());
      cells.add(new StudyCell(id.toString(), run.build()));
      int a = grid.size() - 1; // the odometer: the last axis turns fastest
      while (a >= 0 && ++index[a] == grid.get(a).values().size()) {
        index[a--] = 0;
      }
      if (a < 0) {
        return cells;
      }
    }
  }

  private static <T> List<T> orBase(List<T> axis, T base) {
    if (!axis.isEmpty()) {
      return axis;
    }
    List<T> single = new ArrayList<>();
    single.add(base);
    return single;
  }

  /** The base run's reconstruction at weight {@code w}; none at 0. */
  private static Reconstruction withWeight(Reconstruction base, Double w) {
    if (w == null || w == 0) {
      return null;
    }
    return base == null
        ? new Reconstruction(w, null, null)
        : new Reconstruction(w, base.decoderLayers(), base.decoderWidth());
  }

  /** 1.0 -> "1", 0.25 -> "0.25". */
  private static String plain(Double value) {
    return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
  }

  /** 0.75 -> "75", 0.875 -> "87.5": exact decimal, no float noise in ids. */
  private static String percent(Double ratio) {
    return BigDecimal.valueOf(ratio).movePointRight(2).stripTrailingZeros().toPlainString();
  }
}
