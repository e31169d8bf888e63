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
 * An equal-wall-clock run: time a few steps on a throwaway copy of the model, then fit the schedule
 * (warmup and cosine decay included) into the budget, so the run ends its decay instead of being
 * cut off mid-schedule. The steps stay capped by the config's own schedule.
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
