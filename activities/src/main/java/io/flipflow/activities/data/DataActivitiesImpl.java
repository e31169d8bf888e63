package io.flipflow.activities.data;

import io.flipflow.activities.data.s3.S3Store;
import io.flipflow.activities.data.s3.S3Uri;
import io.flipflow.activities.data.staging.StageData;
import io.flipflow.activities.data.staging.StagedManifest;
import io.flipflow.activities.support.ActivityFailures;
import io.flipflow.activities.support.Heartbeater;
import io.flipflow.db.DataIssueStore;
import io.flipflow.db.Database;
import io.flipflow.workflows.activities.DataActivities;
import io.flipflow.workflows.result.StagedDataset;
import io.flipflow.workflows.spec.RunSpec;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.ToIntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * StageData on the cpu queue: raw img2dataset shards to training-ready shards, reused when staged
 * before. Skipped samples go to {@code data_issues} whether the stage succeeds or not.
 */
public final class DataActivitiesImpl implements DataActivities {
  private static final Logger log = LoggerFactory.getLogger(DataActivitiesImpl.class);

  /** Heartbeat details while staging: only counts, never data. */
  public record StagingProgress(int shardsDone, int shardsTotal, long samplesDone) {}

  private final S3Store store;
  private final S3Uri stagedRoot;
  private final Path workDir;
  private final Database db;
  private final ToIntFunction<String> contextLengthOfPreset;

  /**
   * @param stagedRoot where staged sets go, e.g. {@code s3://flipflow/staged/}
   * @param contextLengthOfPreset the text context length of a model preset (tokens are padded to
   *     it)
   */
  public DataActivitiesImpl(
      S3Store store,
      S3Uri stagedRoot,
      Path workDir,
      Database db,
      ToIntFunction<String> contextLengthOfPreset) {
    this.store = store;
    this.stagedRoot = stagedRoot;
    this.workDir = workDir;
    this.db = db;
    this.contextLengthOfPreset = contextLengthOfPreset;
  }

  @Override
  public StagedDataset stageData(RunSpec spec) {
    ActivityExecutionContext context = Activity.getExecutionContext();
    String runId = context.getInfo().getWorkflowId();
    List<StageData.DataIssue> issues = Collections.synchronizedList(new ArrayList<>());
    try (Heartbeater heartbeat = Heartbeater.start(context, new StagingProgress(0, 0, 0))) {
      return ActivityFailures.run(
          () -> {
            try {
              S3Uri source = S3Uri.parse(spec.dataUri());
              S3Uri tokenizer = findTokenizer(store, source);
              StagedManifest m =
                  new StageData(store, workDir)
                      .stage(
                          StageData.Request.of(
                              spec.dataUri(),
                              stagedRoot,
                              tokenizer,
                              spec.imageSize(),
                              contextLengthOfPreset.applyAsInt(spec.modelPreset())),
                          new StageData.Listener() {
                            @Override
                            public void shardDone(int done, int total, long samples) {
                              heartbeat.update(new StagingProgress(done, total, samples));
                            }

                            @Override
                            public void issue(StageData.DataIssue issue) {
                              issues.add(issue);
                            }
                          });
              // what training will use: the data-size axis's subset, or the whole staged set
              long used =
                  spec.dataSamples() == null
                      ? m.samples()
                      : Math.min(spec.dataSamples(), m.samples());
              db.runs().setDataSamples(runId, used);
              return new StagedDataset(
                  S3Uri.parse(m.root()).resolve("manifest.json").toString(),
                  m.samples(),
                  m.resolution(),
                  m.contextLength(),
                  m.vocabSize());
            } finally {
              recordIssues(spec.dataUri(), runId, issues);
            }
          });
    }
  }

  /** The tokenizer.json beside the shards, or one folder up (the importer's layout). */
  public static S3Uri findTokenizer(S3Store store, S3Uri source) {
    S3Uri folder = source.isBracePattern() ? source.parent() : source;
    for (S3Uri candidate :
        List.of(folder.resolve("tokenizer.json"), folder.parent().resolve("tokenizer.json"))) {
      if (store.exists(candidate)) {
        return candidate;
      }
    }
    throw new IllegalArgumentException(
        "dataUri "
            + source
            + ": no tokenizer.json beside the shards or one folder up; import the data with"
            + " `flipflow data import` or put a tokenizer.json there");
  }

  private void recordIssues(String datasetUri, String runId, List<StageData.DataIssue> issues) {
    if (issues.isEmpty()) {
      return;
    }
    List<DataIssueStore.DataIssueRow> rows =
        issues.stream()
            .map(
                i ->
                    new DataIssueStore.DataIssueRow(
                        datasetUri, i.shard(), i.key(), i.reason(), runId))
            .toList();
    try {
      db.dataIssues().record(rows);
    } catch (SQLException e) {
      log.warn(
          "could not record {} data issues of {}: {}", rows.size(), datasetUri, e.getMessage());
    }
  }
}
