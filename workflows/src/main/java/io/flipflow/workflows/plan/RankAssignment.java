package io.flipflow.workflows.plan;

/**
 * One rank of a data-parallel gang, as the pipeline hands it to a training activity: the ranks of
 * one gang meet at a rendezvous named by the workflow run, the stage and {@code gang}, so a
 * restarted gang never meets a member of the one before.
 *
 * @param rank this process's rank, 0 (it serves the rendezvous, checkpoints and reports) to {@code
 *     worldSize - 1}
 * @param worldSize how many ranks train together
 * @param gang which start of the gang this is, from 1; it scopes the rendezvous and the checkpoint
 *     keys the way an activity attempt does for one process
 */
public record RankAssignment(int rank, int worldSize, int gang) {
  public RankAssignment {
    if (worldSize < 1 || rank < 0 || rank >= worldSize || gang < 1) {
      throw new IllegalArgumentException(
          "rank " + rank + " of " + worldSize + " in gang " + gang + " is not a rank");
    }
  }

  /** Rank 0 serves the rendezvous, writes checkpoints and reports metrics. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  public boolean isLeader() {
    return rank == 0;
  }
}
