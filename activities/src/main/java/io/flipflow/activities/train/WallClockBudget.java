package io.flipflow.activities.train;

import ai.djl.Device;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.workflows.plan.TrainConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An equal-wall-clock run. Before it starts, a few steps on a throwaway copy of the model give a
 * first fit of the schedule (warmup and cosine decay included) into the budget. That probe leaves
 * out what a real run also spends between steps (checkpoints, their uploads, the record) and
 * misjudges steady step times (on 2026-12-01 the demo's three loops ran 0.84x, 0.92x and 1.10x of
 * their budget), so during the run {@link Pace} re-fits the schedule's length after every step from
 * the pace measured so far: the run stops on the clock at a step boundary, and its cosine ends at
 * that step. The steps stay capped by the config's own schedule.
 */
final class WallClockBudget {
  private static final Logger log = LoggerFactory.getLogger(WallClockBudget.class);

  /** Steps of the probe; the first two are left out of the timing (allocation, warm caches). */
  static final int CALIBRATION_STEPS = 5;

  private WallClockBudget() {}

  /** Data for the probe: a fresh source each call, closed by the caller. */
  interface DataFactory {
    StagedBatchSource open() throws IOException;
  }

  /** Calibrates on {@code devices} and returns {@code config} fitted to {@code budgetSeconds}. */
  static TrainConfig fit(
      TrainConfig config,
      ModelPreset preset,
      long budgetSeconds,
      List<Device> devices,
      DataFactory data,
      Path scratch,
      BooleanSupplier stopRequested)
      throws IOException {
    TrainConfig probeConfig =
        config
            .with()
            .totalSteps(CALIBRATION_STEPS)
            .warmupSteps(0)
            .checkpointEvery(CALIBRATION_STEPS)
            .metricsEvery(1)
            .build();
    List<Double> millis = new ArrayList<>();
    try (ClipTrainer probe = ClipTrainer.create(probeConfig, preset, devices);
        StagedBatchSource source = data.open()) {
      probe.run(source, scratch, m -> millis.add(m.stepMillis()), stopRequested);
    } finally {
      if (Files.exists(scratch)) {
        CheckpointDir.deleteRecursively(scratch);
      }
    }
    List<Double> steady = millis.subList(Math.min(2, millis.size() - 1), millis.size());
    double median = steady.stream().sorted().toList().get(steady.size() / 2);
    TrainConfig fitted = fitted(config, median, budgetSeconds);
    log.info(
        "{} ms/step at mask {} -> {} steps fit {} s",
        String.format("%.0f", median),
        config.maskRatio(),
        fitted.totalSteps(),
        budgetSeconds);
    return fitted;
  }

  /**
   * The in-run fit: after each step, how many steps the schedule has, so that the stage ends within
   * half a step of its budget. The pace is the wall-clock time per step since the first step of
   * this attempt ended (the first warms caches), everything between steps included. The stage's
   * last checkpoint (written, uploaded, recorded) comes after its last step, so the newest
   * checkpoint's time is held back from the budget. Steps of an earlier attempt (a resume) count at
   * today's pace, as their time is not in the checkpoint.
   */
  static final class Pace {
    private final long budgetNanos;
    private final long capSteps;
    private long startStep = -1;
    private long startNanos;
    private long firstStepEndNanos;
    private long checkpointNanos;

    /**
     * @param capSteps the schedule's length without a budget: a budget never lengthens it past this
     */
    Pace(long budgetSeconds, long capSteps) {
      if (budgetSeconds <= 0 || capSteps <= 0) {
        throw new IllegalArgumentException(
            "wallClockBudgetSeconds and the schedule must be positive, got "
                + budgetSeconds
                + " s and "
                + capSteps
                + " steps");
      }
      this.budgetNanos = budgetSeconds * 1_000_000_000L;
      this.capSteps = capSteps;
    }

    /** The clock starts: {@code step} steps are done already (a resumed attempt). */
    void start(long step, long nowNanos) {
      startStep = step;
      startNanos = nowNanos;
    }

    /** For the log: where the run ended against its budget. */
    String describe(long step, long nowNanos) {
      return String.format(
          "ended at step %d after %.1f s of %.0f s (last checkpoint %.2f s)",
          step, (nowNanos - startNanos) / 1e9, budgetNanos / 1e9, checkpointNanos / 1e9);
    }

    /** A checkpoint took this long; the final one is expected to take as long. */
    void checkpointTook(long nanos) {
      checkpointNanos = nanos;
      log.info("checkpoint took {} ms", nanos / 1_000_000);
    }

    /**
     * The schedule's length once {@code step} steps are done at {@code nowNanos}: never less than
     * {@code step} (the run ends here), never more than the cap; {@code current} until a pace is
     * measured.
     */
    long totalSteps(long step, long nowNanos, long current) {
      if (startStep < 0) {
        throw new IllegalStateException("the pace's clock was not started");
      }
      long done = step - startStep;
      if (done == 1) {
        firstStepEndNanos = nowNanos;
      }
      if (done < 2) {
        return Math.max(step, Math.min(capSteps, current));
      }
      double pace = (double) (nowNanos - firstStepEndNanos) / (done - 1);
      double elapsed = (nowNanos - startNanos) + startStep * pace;
      long fits = Math.round((budgetNanos - checkpointNanos - elapsed) / pace);
      return Math.max(step, Math.min(capSteps, step + Math.max(0, fits)));
    }
  }

  /**
   * {@code config} with as many steps of {@code stepMillis} as fit {@code budgetSeconds} (at most
   * its own), warmup at most a fifth of them, intervals no longer than the schedule.
   */
  static TrainConfig fitted(TrainConfig config, double stepMillis, long budgetSeconds) {
    long fits = Math.max(1, (long) (budgetSeconds * 1000.0 / stepMillis));
    long steps = Math.min(config.totalSteps(), fits);
    return config
        .with()
        .totalSteps(steps)
        .warmupSteps(Math.min(config.warmupSteps(), steps / 5))
        .checkpointEvery(Math.max(1, Math.min(config.checkpointEvery(), steps)))
        .build();
  }
}
