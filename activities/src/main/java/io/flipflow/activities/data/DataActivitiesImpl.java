package io.flipflow.activities.data;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.StageData;
import io.flipflow.activities.data.staging.StagedManifest;
import io.flipflow.activities.data.staging.StagingLimits;
import io.flipflow.activities.data.staging.StagingSettings;
import io.flipflow.activities.model.ModelPreset;
import io.flipflow.activities.support.ActivityFailures;
import io.flipflow.activities.support.Heartbeater;
import io.flipflow.db.DataIssueStore;
import io.flipflow.db.Database;
import io.flipflow.db.Locks;
import io.flipflow.workflows.activities.DataActivities;
import io.flipflow.workflows.plan.ShardGroup;
import io.flipflow.workflows.plan.StagingPlan;
import io.flipflow.workflows.plan.StagingRequest;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.result.StagedGroup;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import io.temporal.failure.CanceledFailure;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Staging on the cpu queue: raw img2dataset shards to training-ready shards, reused when staged
 * before. {@code StagingWorkflow} plans, stages groups of shards on every cpu worker and publishes;
 * pipelines from before it stage in one activity. Skipped samples go to {@code data_issues} whether
 * the stage succeeds or not; what the staged set holds (samples, tokenizer) is returned, and the
 * run's record is the workflow's to write.
 */
public final class DataActivitiesImpl implements DataActivities {
  private static final Logger log = LoggerFactory.getLogger(DataActivitiesImpl.class);

  /** Heartbeat details while staging: only counts, never data. */
  public record StagingProgress(int shardsDone, int shardsTotal, long samplesDone) {}

  private final S3Store store;
  private final S3Uri stagedRoot;
  private final Path workDir;
  private final Database db;
  private final StagingLimits limits;
  private final StagingSettings settings;

  /** How often a stager waiting for another stager of the same set looks again. */
  static final Duration LOCK_POLL = Duration.ofSeconds(2);

  /**
   * @param stagedRoot where staged sets go, e.g. {@code s3://flipflow/staged/}
   * @param limits what a data set may make large or lose ({@code staging.*})
   * @param settings how this worker shares fanned-out stagings ({@code staging.*})
   */
  public DataActivitiesImpl(
      S3Store store,
      S3Uri stagedRoot,
      Path workDir,
      Database db,
      StagingLimits limits,
      StagingSettings settings) {
    this.store = store;
    this.stagedRoot = stagedRoot;
    this.workDir = workDir;
    this.db = db;
    this.limits = limits;
    this.settings = settings;
  }

  @Override
  public StagingPlan planStaging(StagingRequest request) {
    ActivityExecutionContext context = Activity.getExecutionContext();
    try (Heartbeater heartbeat = Heartbeater.start(context, new StagingProgress(0, 0, 0))) {
      return ActivityFailures.run(
          () -> {
            StageData.Planned planned =
                new StageData(store, workDir).plan(requestOf(request), new StageData.Listener() {});
            return new StagingPlan(
                request.dataUri(),
                planned.planUri().toString(),
                planned.plan().shardCount(),
                settings.shardsPerGroup(),
                settings.groupsInFlight(),
                planned.published().map(StagedManifest::asDataset).orElse(null));
          });
    }
  }

  @Override
  public StagedGroup stageGroup(ShardGroup group) {
    ActivityExecutionContext context = Activity.getExecutionContext();
    List<StageData.DataIssue> issues = Collections.synchronizedList(new ArrayList<>());
    try (Heartbeater heartbeat = Heartbeater.start(context, new StagingProgress(0, 0, 0))) {
      return ActivityFailures.run(
          () -> {
            try {
              var summary =
                  new StageData(store, workDir)
                      .stageGroup(
                          new StageData.GroupRequest(
                              S3Uri.parse(group.planUri()),
                              group.dataUri(),
                              group.firstShard(),
                              group.endShard(),
                              limits,
                              settings.threads()),
                          listener(heartbeat, issues));
              StageData.Counts counts = StageData.counts(summary);
              return new StagedGroup(
                  group.firstShard(),
                  group.endShard(),
                  counts.samples(),
                  counts.bad(),
                  counts.lostShards(),
                  counts.failedDownloads());
            } catch (StageData.Cancelled e) {
              throw new CanceledFailure(e.getMessage());
            } finally {
              recordIssues(group.dataUri(), group.runId(), issues);
            }
          });
    }
  }

  @Override
  public StagedDataset publishStaging(StagingPlan plan) {
    ActivityExecutionContext context = Activity.getExecutionContext();
    try (Heartbeater heartbeat = Heartbeater.start(context, new StagingProgress(0, 0, 0))) {
      return ActivityFailures.run(
          () ->
              new StageData(store, workDir)
                  .publish(
                      S3Uri.parse(plan.planUri()),
                      plan.dataUri(),
                      plan.shardsPerGroup(),
                      limits,
                      new StageData.Listener() {})
                  .asDataset());
    }
  }

  private StageData.Request requestOf(StagingRequest request) {
    S3Uri tokenizer = StageData.findTokenizer(store, S3Uri.parse(request.dataUri()));
    return new StageData.Request(
        request.dataUri(),
        stagedRoot,
        tokenizer,
        request.resolution(),
        request.contextLength(),
        limits,
        settings.threads(),
        settings.format());
  }

  /** Heartbeats per shard, collects the issues, stops on cancel, waits for the group's lock. */
  private StageData.Listener listener(Heartbeater heartbeat, List<StageData.DataIssue> issues) {
    return new StageData.Listener() {
      @Override
      public void shardDone(int done, int total, long samples) {
        heartbeat.update(new StagingProgress(done, total, samples));
      }

      @Override
      public void issue(StageData.DataIssue issue) {
        issues.add(issue);
      }

      @Override
      public boolean stopRequested() {
        return heartbeat.stopRequested();
      }

      @Override
      public AutoCloseable exclusive(String name) throws Exception {
        return waitForLock(name, heartbeat);
      }
    };
  }

  @Override
  @Deprecated
  public StagedDataset stage(StagingRequest request) {
    ActivityExecutionContext context = Activity.getExecutionContext();
    String workflowId = context.getInfo().getWorkflowId();
    List<StageData.DataIssue> issues = Collections.synchronizedList(new ArrayList<>());
    try (Heartbeater heartbeat = Heartbeater.start(context, new StagingProgress(0, 0, 0))) {
      return ActivityFailures.run(
          () -> {
            try {
              return new StageData(store, workDir)
                  .stage(requestOf(request), settings.shardsPerGroup(), listener(heartbeat, issues))
                  .asDataset();
            } catch (StageData.Cancelled e) {
              throw new CanceledFailure(e.getMessage());
            } finally {
              recordIssues(request.dataUri(), workflowId, issues);
            }
          });
    }
  }

  /**
   * One stager per shard group at a time, cluster-wide (a Postgres advisory lock held for the
   * group): the others wait here, heartbeating, and then find the group staged and reuse it.
   */
  private Locks.Lock waitForLock(String group, Heartbeater heartbeat) throws Exception {
    String name = "flipflow-staging:" + group;
    boolean told = false;
    while (true) {
      Optional<Locks.Lock> lock = db.locks().tryLock(name);
      if (lock.isPresent()) {
        return lock.get();
      }
      if (!told) {
        log.info("another stager holds shard group {}: waiting for it", group);
        told = true;
      }
      heartbeat.update(new StagingProgress(0, 0, 0));
      if (heartbeat.stopRequested()) {
        throw new StageData.Cancelled("cancelled while waiting for the stager of " + group);
      }
      Thread.sleep(LOCK_POLL.toMillis());
    }
  }

  @Override
  @Deprecated
  @SuppressWarnings("deprecation")
  public StagedDataset stageData(RunSpec spec) {
    return stage(
        new StagingRequest(
            spec.dataUri(),
            spec.imageSize(),
            ModelPreset.load(spec.modelPreset()).contextLength()));
  }

  private void recordIssues(
      String datasetUri, String workflowId, List<StageData.DataIssue> issues) {
    if (issues.isEmpty()) {
      return;
    }
    List<DataIssueStore.DataIssueRow> rows =
        issues.stream()
            .map(
                i ->
                    new DataIssueStore.DataIssueRow(
                        datasetUri, i.shard(), i.key(), i.reason(), workflowId))
            .toList();
    try {
      db.dataIssues().record(rows);
    } catch (SQLException e) {
      log.warn(
          "could not record {} data issues of {}: {}", rows.size(), datasetUri, e.getMessage());
    }
  }
}
