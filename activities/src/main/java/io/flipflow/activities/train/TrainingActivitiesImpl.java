package io.flipflow.activities.train;

import ai.djl.Device;
import io.flipflow.activities.checkpoint.CheckpointDir;
import io.flipflow.activities.checkpoint.CheckpointStore;
import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.StagedCache;
import io.flipflow.activities.device.DevicePool;
import io.flipflow.activities.engine.ProcessGroup;
import io.flipflow.activities.engine.TcpStore;
import io.flipflow.activities.support.ActivityFailures;
import io.flipflow.activities.support.Heartbeater;
import io.flipflow.db.Database;
import io.flipflow.workflows.activities.TrainingActivities;
import io.flipflow.workflows.plan.RankAssignment;
import io.flipflow.workflows.plan.RunPlans;
import io.flipflow.workflows.plan.TrainingPlan;
import io.flipflow.workflows.result.CheckpointRef;
import io.flipflow.workflows.result.Progress;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.TrainResult;
import io.flipflow.workflows.result.TrainingHeartbeat;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.failure.ApplicationFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training stages on the gpu queue, as Temporal sees them: lease the plan's device for the
 * attempt, heartbeat from a background thread, run one {@link StageAttempt} (which records itself
 * through a {@link StageRecorder}), and turn how it ended into what Temporal should do next.
 */
public final class TrainingActivitiesImpl implements TrainingActivities {
  private static final Logger log = LoggerFactory.getLogger(TrainingActivitiesImpl.class);

  /** Failure type of a diverged run (NaN or infinite loss): not retried, names the checkpoint. */
  public static final String DIVERGED = "TrainingDiverged";

  /** Failure type of a stage stopped by its worker's shutdown: retried, on another worker. */
  public static final String WORKER_SHUTDOWN = "WorkerShutdown";

  /** Failure type of an attempt that timed out or stalled: Temporal has retried it already. */
  public static final String SUPERSEDED = "AttemptSuperseded";

  private final S3Store store;
  private final CheckpointStore checkpoints;
  private final S3Uri checkpointRoot;
  private final Path workDir;
  private final Database db;
  private final DevicePool devices;
  private final TrainingSettings settings;
  private final StagedCache stagedCache;
  private final Set<Heartbeater> running = ConcurrentHashMap.newKeySet();

  /**
   * @param checkpointRoot where checkpoints go, e.g. {@code s3://flipflow/checkpoints/}
   * @param workDir local scratch: checkpoints being written, the staged-data cache
   * @param devices the worker's devices; each attempt leases what its plan's {@code device} asks
   *     for (shared with evaluation on the same worker)
   * @param settings the worker's training limits (local checkpoints kept, stall detection, cache)
   */
  public TrainingActivitiesImpl(
      S3Store store,
      S3Uri checkpointRoot,
      Path workDir,
      Database db,
      DevicePool devices,
      TrainingSettings settings) {
    this.store = store;
    this.checkpoints = new CheckpointStore(store);
    this.checkpointRoot = checkpointRoot;
    this.workDir = workDir;
    this.db = db;
    this.devices = devices;
    this.settings = settings;
    this.stagedCache =
        new StagedCache(workDir.resolve("staged-cache"), settings.stagedCacheBytes());
  }

  /**
   * For a graceful worker shutdown (SIGTERM): every running stage stops at its next step with a
   * checkpoint and fails retryably, so its work continues on another worker from there.
   */
  public void stopAllForShutdown() {
    running.forEach(h -> h.requestStop(Heartbeater.StopReason.WORKER_SHUTDOWN));
  }

  @Override
  public TrainResult train(TrainingPlan plan) {
    ActivityExecutionContext context = Activity.getExecutionContext();
    int attempt = context.getInfo().getAttempt();
    return runAttempt(context, plan, "attempt-" + attempt, attempt, null);
  }

  /**
   * One rank of a gang: meet the other ranks (rank 0 serves the rendezvous), open the process group
   * (Gloo on CPU, NCCL on GPUs), and train this rank's share; the gang's start number stands in for
   * the attempt number in checkpoint keys and the record.
   */
  @Override
  public TrainResult trainRank(TrainingPlan plan, RankAssignment rank) {
    ActivityExecutionContext context = Activity.getExecutionContext();
    return runAttempt(
        context, plan, "gang-" + rank.gang() + "-rank-" + rank.rank(), rank.gang(), rank);
  }

  /**
   * What every training attempt shares: its scratch folder, the heartbeat, the device lease, the
   * recorder, a gang's rendezvous and process group when {@code rank} is set, and how its end
   * becomes what Temporal does next.
   */
  private TrainResult runAttempt(
      ActivityExecutionContext context,
      TrainingPlan plan,
      String folder,
      int attempt,
      RankAssignment rank) {
    String workflowId = context.getInfo().getWorkflowId();
    Path stageDir = workDir.resolve(workflowId).resolve(plan.stageName());
    Path dir = stageDir.resolve(folder);
    removeStaleAttempts(stageDir, folder);
    try (Heartbeater heartbeat =
        Heartbeater.start(context, new TrainingHeartbeat(Progress.at(plan.stage()), null))) {
      running.add(heartbeat);
      try {
        return ActivityFailures.run(
            () -> {
              // returned when the attempt ends, however it ends (failure, cancel, shutdown)
              try (DevicePool.Lease lease = devices.lease(plan.device())) {
                StageRecorder recorder =
                    new StageRecorder(
                        db,
                        checkpoints,
                        checkpointRoot,
                        workflowId,
                        plan.stage(),
                        plan.specFingerprint(),
                        attempt,
                        settings,
                        heartbeat,
                        context.getWorkflowClient());
                StageAttempt stage =
                    new StageAttempt(
                        plan,
                        workflowId,
                        dir,
                        lease.devices(),
                        heartbeat,
                        recorder,
                        store,
                        stagedCache,
                        context.getHeartbeatDetails(TrainingHeartbeat.class),
                        attempt);
                if (rank == null) {
                  return stage.run();
                }
                if (!rank.isLeader()) {
                  recorder.asFollower();
                }
                S3Uri where =
                    RankRendezvous.location(
                        checkpointRoot,
                        workflowId,
                        context.getInfo().getRunId(),
                        plan.stageName(),
                        rank.gang());
                try (TcpStore rendezvous =
                        RankRendezvous.join(
                            store,
                            where,
                            rank,
                            settings.rendezvousHost(),
                            settings.collectiveTimeout(),
                            heartbeat::stopRequested);
                    ProcessGroup group =
                        rendezvous.processGroup(
                            backendOf(lease.devices()),
                            RankRendezvous.advertisedHost(settings.rendezvousHost()))) {
                  return stage
                      .inGang(new StageAttempt.Gang(rank, rendezvous, new RankGroup(group)))
                      .run();
                }
              } catch (StageAttempt.Diverged e) {
                throw ApplicationFailure.newNonRetryableFailureWithCause(
                    e.getMessage(), DIVERGED, e.getCause());
              } catch (StageAttempt.StoppedForShutdown e) {
                throw ApplicationFailure.newFailure(e.getMessage(), WORKER_SHUTDOWN);
              } catch (StageAttempt.Superseded e) {
                throw ApplicationFailure.newFailure(e.getMessage(), SUPERSEDED);
              } catch (StageAttempt.Unrecorded e) {
                throw ApplicationFailure.newFailure(e.getMessage(), ActivityFailures.TRANSIENT);
              }
            });
      } finally {
        running.remove(heartbeat);
        deleteQuietly(dir);
      }
    }
  }

  /** Gloo between CPU processes, NCCL between GPUs. */
  private static ProcessGroup.Backend backendOf(List<Device> devices) {
    return devices.get(0).isGpu() ? ProcessGroup.Backend.NCCL : ProcessGroup.Backend.GLOO;
  }

  @Override
  @Deprecated
  public TrainResult pretrain(RunSpec spec, StagedDataset data, String workflowId) {
    return train(RunPlans.pretraining(spec, data));
  }

  @Override
  @Deprecated
  public TrainResult unmaskedTune(RunSpec spec, StagedDataset data, CheckpointRef from) {
    return train(RunPlans.tuning(spec, data, from));
  }

  /**
   * Folders of earlier attempts of this stage on this worker (a crash, a kill) hold partial
   * checkpoints and downloads nobody will read: they go before this attempt starts.
   */
  private static void removeStaleAttempts(Path stageDir, String keep) {
    if (!Files.isDirectory(stageDir)) {
      return;
    }
    try (var dirs = Files.list(stageDir)) {
      for (Path d : dirs.toList()) {
        String name = d.getFileName().toString();
        if ((name.startsWith("attempt-") || name.startsWith("gang-")) && !name.equals(keep)) {
          log.info("removing the folder of an earlier attempt: {}", d);
          deleteQuietly(d);
        }
      }
    } catch (IOException e) {
      log.warn("could not list {}: {}", stageDir, e.toString());
    }
  }

  private static void deleteQuietly(Path dir) {
    try {
      if (Files.exists(dir)) {
        CheckpointDir.deleteRecursively(dir);
      }
    } catch (IOException | RuntimeException e) {
      log.debug("could not delete {}: {}", dir, e.toString());
    }
  }
}
