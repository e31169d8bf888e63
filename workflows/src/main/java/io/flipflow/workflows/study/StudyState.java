package io.flipflow.workflows.study;

import io.flipflow.workflows.result.StudyRunResult;
import java.util.List;

/**
 * What a study carries into its next execution after continue-as-new: an index into the
 * deterministic grid ({@code StudySpec.expand()}) rather than the remaining cells, which keeps the
 * input small for large grids, plus the results so far.
 *
 * @param nextCell index of the first grid cell not yet started
 * @param done results of the finished cells, in grid order
 */
public record StudyState(int nextCell, List<StudyRunResult> done) {
  public StudyState {
    done = done == null ? List.of() : List.copyOf(done);
  }

  public static StudyState start() {
    return new StudyState(0, List.of());
  }
}
