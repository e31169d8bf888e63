package io.flipflow.workflows.pipeline;

import io.flipflow.workflows.FailureTypes;
import io.flipflow.workflows.Failures;
import io.flipflow.workflows.activities.TrainingActivities;
import io.flipflow.workflows.plan.RankAssignment;
import io.flipflow.workflows.plan.TrainingPlan;
import io.flipflow.workflows.result.TrainResult;
import io.temporal.failure.ApplicationFailure;
import io.temporal.failure.CanceledFailure;
import io.temporal.workflow.Async;
import io.temporal.workflow.CancellationScope;
import io.temporal.workflow.Promise;
import io.temporal.workflow.Workflow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;

/**
 * The ranks of a data-parallel training stage as one unit (gang scheduling): every rank of a gang
 * starts at once on the gpu queue, one activity each; when any of them fails or stops heartbeating,
 * the others are cancelled and, unless the failure is bad input or a diverged loss, the whole gang
 * starts again after a pause (10 s, doubling to 5 min), resuming from the newest checkpoint. A
 * cancelled stage waits for its ranks to stop together with a checkpoint, as one process would.
 */
final class RankGang {
  private static final Logger log = Workflow.getLogger(RankGang.class);

  /** Starts of one stage's gang before the stage fails, as a single process's retries. */
  static final int MAX_STARTS = 20;

  private static final Duration PEERS_FAIL_WITHIN = Duration.ofSeconds(5);
  private static final Duration FIRST_PAUSE = Duration.ofSeconds(10);
  private static final Duration MAX_PAUSE = Duration.ofMinutes(5);

  private final TrainingActivities ranks;

  RankGang(TrainingActivities ranks) {
    this.ranks = ranks;
  }

  /**
   * Trains the stage on {@code worldSize} ranks; returns rank 0's result (it holds the checkpoint).
   */
  TrainResult train(TrainingPlan plan, int worldSize) {
    for (int gang = 1; ; gang++) {
      List<Promise<TrainResult>> members = new ArrayList<>();
      int start = gang;
      CancellationScope scope =
          Workflow.newCancellationScope(
              () -> {
                for (int r = 0; r < worldSize; r++) {
                  members.add(
                      Async.function(
                          ranks::trainRank, plan, new RankAssignment(r, worldSize, start)));
                }
              });
      scope.run();
      // detached: a cancelled stage still waits here for its ranks' final checkpoint
      Workflow.newDetachedCancellationScope(
              () -> Workflow.await(() -> allDone(members) || firstFailed(members) >= 0))
          .run();
      if (CancellationScope.current().isCancelRequested()) {
        // every rank stops at the same step; rank 0's result holds the final checkpoint
        Workflow.newDetachedCancellationScope(() -> Workflow.await(() -> allDone(members))).run();
        if (members.get(0).getFailure() == null) {
          return members.get(0).get();
        }
        throw new CanceledFailure(
            "stage cancelled; rank 0 ended with: " + Failures.message(members.get(0).getFailure()));
      }
      int failed = firstFailed(members);
      if (failed < 0) {
        return members.get(0).get();
      }
      RuntimeException failure = members.get(failed).getFailure();
      String why = "rank " + failed + " of " + worldSize + " failed: " + Failures.message(failure);
      // the others mostly fail by themselves at once (their collectives lose a peer); a short
      // grace keeps cancel requests for the ones still running, not for ones the server has ended
      Workflow.newDetachedCancellationScope(
              () -> Workflow.await(PEERS_FAIL_WITHIN, () -> allDone(members)))
          .run();
      scope.cancel(why); // the rest stop; a new gang does not wait for a lost one's timeout
      if (!retryable(failure)) {
        throw failure; // bad input or a diverged loss: another gang would fail the same way
      }
      if (gang == MAX_STARTS) {
        throw ApplicationFailure.newNonRetryableFailureWithCause(
            why + " (gang started " + MAX_STARTS + " times)", "GangFailed", failure);
      }
      Duration pause = pause(gang);
      log.warn(
          "{} {}: gang {} ends ({}); all {} ranks start again in {} s from the newest checkpoint",
          Workflow.getInfo().getWorkflowId(),
          plan.stageName(),
          gang,
          why,
          worldSize,
          pause.toSeconds());
      Workflow.sleep(pause);
    }
  }

  private static boolean allDone(List<Promise<TrainResult>> members) {
    return members.stream().allMatch(Promise::isCompleted);
  }

  /** The first rank (in rank order) whose activity failed; -1 for none yet. */
  private static int firstFailed(List<Promise<TrainResult>> members) {
    for (int r = 0; r < members.size(); r++) {
      if (members.get(r).isCompleted() && members.get(r).getFailure() != null) {
        return r;
      }
    }
    return -1;
  }

  /**
   * Whether a new gang could get further: not for bad input or a diverged loss (non-retryable
   * application failures); yes for lost workers, timeouts and transient faults.
   */
  static boolean retryable(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof ApplicationFailure a) {
        return !a.isNonRetryable() && !FailureTypes.NON_RETRYABLE.contains(a.getType());
      }
    }
    return true;
  }

  static Duration pause(int gang) {
    long seconds = FIRST_PAUSE.toSeconds() << Math.min(gang - 1, 10);
    return Duration.ofSeconds(Math.min(seconds, MAX_PAUSE.toSeconds()));
  }
}
