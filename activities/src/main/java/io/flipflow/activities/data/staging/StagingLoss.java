package io.flipflow.activities.data.staging;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a staging lost: bad samples of readable shards, and the samples of shards lost whole or in
 * part, counted by what the source says they held ({@code _stats.json}, {@code sizes.json}) or,
 * where it says nothing, as the mean of the readable shards. Samples img2dataset says it could not
 * download are counted apart: they were never data, so they are no loss.
 */
record StagingLoss(long good, long bad, long lost, int failedShards, long failedDownloads) {
  static StagingLoss of(List<ShardStager.ShardResult> results) {
    long good = 0;
    long bad = 0;
    long failedDownloads = 0;
    long readable = 0;
    long readableSamples = 0;
    int failed = 0;
    for (ShardStager.ShardResult r : results) {
      good += r.samples();
      bad += r.bad();
      failedDownloads += r.failedDownloads();
      if (r.failed()) {
        failed++;
      } else {
        readable++;
        readableSamples += r.samples() + r.bad();
      }
    }
    long mean = readable == 0 ? 0 : Math.round((double) readableSamples / readable);
    long lost = 0;
    for (ShardStager.ShardResult r : results) {
      if (r.failed()) {
        long expected = r.expected() != null ? r.expected() : Math.max(1, mean);
        lost += Math.max(0, expected - r.samples() - r.bad());
      }
    }
    return new StagingLoss(good, bad, lost, failed, failedDownloads);
  }

  double fraction() {
    long all = good + bad + lost;
    return all == 0 ? 1.0 : (double) (bad + lost) / all;
  }

  /** An issue's reason without its particulars (sizes, keys), to count reasons of one kind. */
  static String reasonKind(String reason) {
    return reason.replaceAll(" \\(.*$|:.*$", "");
  }

  static String summary(
      String source, StagingLoss loss, StagingLimits limits, List<GroupSummary> groups) {
    Map<String, Integer> reasons = new LinkedHashMap<>();
    StageData.DataIssue first = null;
    for (GroupSummary g : groups) {
      g.reasons().forEach((reason, n) -> reasons.merge(reason, n, Integer::sum));
      if (first == null) first = g.firstIssue();
    }
    long all = loss.good() + loss.bad() + loss.lost();
    return String.format(
        java.util.Locale.ROOT,
        "staging %s: %d of %d samples lost (%d bad, about %d in %d lost shard(s)): %.2f%% (limit"
            + " %.2f%%), %d lost shard(s) (limit %d); nothing was published: %s; first: %s",
        source,
        loss.bad() + loss.lost(),
        all,
        loss.bad(),
        loss.lost(),
        loss.failedShards(),
        100.0 * loss.fraction(),
        100 * limits.maxBadFraction(),
        loss.failedShards(),
        limits.maxFailedShards(),
        reasons.entrySet().stream()
            .map(r -> r.getValue() + " x " + r.getKey())
            .collect(java.util.stream.Collectors.joining(", ")),
        first == null ? "none" : first.shard() + " key '" + first.key() + "': " + first.reason());
  }
}
