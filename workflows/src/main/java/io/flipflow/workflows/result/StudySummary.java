package io.flipflow.workflows.result;

import java.util.List;

/**
 * What a {@code ScalingStudyWorkflow} returns: every run in grid order.
 *
 * @param studyId the study's id
 * @param runs one result per grid cell, in grid order
 * @param finished runs that finished
 * @param failed runs that failed
 * @param cancelled runs that were cancelled
 */
public record StudySummary(
    String studyId, List<StudyRunResult> runs, int finished, int failed, int cancelled) {
  public StudySummary {
    runs = runs == null ? List.of() : List.copyOf(runs);
  }
}
