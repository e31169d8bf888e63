package io.flipflow.infra.worker;

import io.flipflow.activities.data.DataActivitiesImpl;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.StagedManifest;
import io.flipflow.activities.data.staging.StagingLimits;
import io.flipflow.activities.data.staging.StagingSettings;
import io.flipflow.activities.device.DevicePool;
import io.flipflow.activities.eval.EvaluationActivitiesImpl;
import io.flipflow.activities.eval.PixelCache;
import io.flipflow.activities.model.PresetChecks;
import io.flipflow.activities.record.RecordActivitiesImpl;
import io.flipflow.activities.train.TrainingActivitiesImpl;
import io.flipflow.activities.train.TrainingSettings;
import io.flipflow.db.Database;
import io.flipflow.infra.config.FlipflowConfig;
import io.flipflow.infra.config.Services;
import io.flipflow.workflows.FlipflowWorkflows;
import io.temporal.worker.Worker;
import io.temporal.worker.WorkerFactory;
import io.temporal.worker.WorkerOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What each task queue serves: workflows and recording on control, staging on cpu, training and
 * evaluation on gpu (one activity at a time, on the worker's one device). Only the gpu queue loads
 * DJL's engine.
 */
public final class WorkerRegistrations implements AutoCloseable {
  private final FlipflowConfig config;
  private final List<Runnable> beforeShutdown = new ArrayList<>();
  private final List<AutoCloseable> resources = new ArrayList<>();
  private Database db;
  private S3Store s3;

  WorkerRegistrations(FlipflowConfig config) {
    this.config = config;
  }

  /**
   * The device the gpu queue trains on ({@code worker.devices}: cpu or one cuda:N), one activity
   * slot. A GPU the engine does not see fails here, naming it; so does the removed {@code
   * worker.devices.per_run}.
   */
  static DevicePool devicePool(FlipflowConfig config) {
    return DevicePool.fromConfig(
        config.get(DevicePool.DEVICES_KEY, "cpu"), config.get(DevicePool.PER_RUN_KEY, null));
  }

  /**
   * {@code worker.local_checkpoints}, {@code worker.stall_*}, {@code worker.staged_cache_bytes},
   * {@code tensorboard.dir}, {@code worker.rendezvous_host}, {@code
   * worker.collective_timeout_seconds}.
   */
  static TrainingSettings trainingSettings(FlipflowConfig config) {
    TrainingSettings d = TrainingSettings.defaults();
    return new TrainingSettings(
        config.getInt("worker.local_checkpoints", d.localCheckpoints()),
        config.getInt("worker.stall_after_steps", d.stallAfterSteps()),
        Duration.ofSeconds(
            number(config, "worker.stall_min_seconds", d.stallAtLeast().toSeconds())),
        number(config, "worker.staged_cache_bytes", d.stagedCacheBytes()),
        config.tensorboardDir().orElse(null),
        config.get("worker.rendezvous_host", null),
        Duration.ofSeconds(
            number(
                config, "worker.collective_timeout_seconds", d.collectiveTimeout().toSeconds())));
  }

  /** {@code staging.*}: what a data set may make large or lose (also read by the data commands). */
  public static StagingLimits stagingLimits(FlipflowConfig config) {
    StagingLimits d = StagingLimits.defaults();
    String fraction = config.get("staging.max_bad_fraction", null);
    double maxBad;
    try {
      maxBad =
          fraction == null || fraction.isBlank()
              ? d.maxBadFraction()
              : Double.parseDouble(fraction);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "staging.max_bad_fraction: '" + fraction + "' is not a number", e);
    }
    return new StagingLimits(
        number(config, "staging.max_image_pixels", d.maxImagePixels()),
        number(config, "staging.max_member_bytes", d.maxMemberBytes()),
        config.getInt("staging.max_caption_bytes", d.maxCaptionBytes()),
        config.getInt("staging.max_shards", d.maxShards()),
        maxBad,
        config.getInt("staging.max_failed_shards", d.maxFailedShards()));
  }

  /** {@code staging.*}: how this cpu worker shares stagings fanned out over the cluster. */
  public static StagingSettings stagingSettings(FlipflowConfig config) {
    StagingSettings d = StagingSettings.defaults();
    return new StagingSettings(
        config.getInt("staging.shards_per_group", d.shardsPerGroup()),
        config.getInt("staging.groups_in_flight", d.groupsInFlight()),
        config.getInt("staging.threads", d.threads()),
        config.getInt("staging.slots", d.slots()),
        format(config.get("staging.format", d.format().name())));
  }

  private static StagedManifest.Format format(String value) {
    try {
      return StagedManifest.Format.valueOf(value.trim().toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "staging.format: '" + value + "' is not a staged format (encoded or raw)", e);
    }
  }

  private static long number(FlipflowConfig config, String key, long fallback) {
    String v = config.get(key, null);
    if (v == null || v.isBlank()) {
      return fallback;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + ": '" + v + "' is not a whole number", e);
    }
  }

  void register(String queue, WorkerFactory factory) {
    String taskQueue = "flipflow-" + queue;
    // cancellation reaches training through heartbeats: let it through within ~10 s
    WorkerOptions.Builder options =
        WorkerOptions.newBuilder().setMaxHeartbeatThrottleInterval(Duration.ofSeconds(10));
    Path work = config.stateDir().resolve("work");
    switch (queue) {
      case "control" -> {
        Worker worker = factory.newWorker(taskQueue, options.build());
        FlipflowWorkflows.register(worker);
        worker.registerActivitiesImplementations(
            new RecordActivitiesImpl(db()), new PresetChecks());
      }
      case "cpu" -> {
        StagingSettings staging = stagingSettings(config);
        // one slot per group this worker stages at once, so the groups spread over the workers
        Worker worker =
            factory.newWorker(
                taskQueue, options.setMaxConcurrentActivityExecutionSize(staging.slots()).build());
        worker.registerActivitiesImplementations(
            new DataActivitiesImpl(
                s3(),
                bucketFolder("staged"),
                work.resolve("staging"),
                db(),
                stagingLimits(config),
                staging));
      }
      case "gpu" -> {
        DevicePool devices = devicePool(config);
        Worker worker =
            factory.newWorker(
                taskQueue, options.setMaxConcurrentActivityExecutionSize(devices.slots()).build());
        TrainingActivitiesImpl training =
            new TrainingActivitiesImpl(
                s3(),
                bucketFolder("checkpoints"),
                work.resolve("train"),
                db(),
                devices,
                trainingSettings(config));
        beforeShutdown.add(training::stopAllForShutdown);
        worker.registerActivitiesImplementations(
            training,
            new EvaluationActivitiesImpl(
                s3(),
                work.resolve("eval"),
                db(),
                devices,
                new PixelCache(number(config, "worker.eval_cache_bytes", 2L << 30)),
                config.tensorboardDir().orElse(null)));
      }
      default -> throw new IllegalArgumentException("unknown queue " + queue);
    }
  }

  /** Asks running training to stop at its next step with a checkpoint (SIGTERM, Ctrl-C). */
  void beforeShutdown() {
    beforeShutdown.forEach(Runnable::run);
  }

  private S3Uri bucketFolder(String folder) {
    return S3Uri.parse("s3://" + config.s3Bucket() + "/" + folder + "/");
  }

  private Database db() {
    if (db == null) {
      db = Services.database(config);
      resources.add(db);
    }
    return db;
  }

  private S3Store s3() {
    if (s3 == null) {
      s3 =
          S3Store.create(
              Services.s3(config),
              number(config, "s3.part_size_bytes", S3Store.DEFAULT_PART_BYTES));
      resources.add(s3);
    }
    return s3;
  }

  @Override
  public void close() {
    for (AutoCloseable r : resources) {
      try {
        r.close();
      } catch (Exception ignored) {
        // closing clients at exit
      }
    }
  }
}
