package io.flipflow.activities.train;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An equal-wall-clock run: {@link Pace} re-fits the schedule's length (warmup and cosine decay
 * included) after every step from the pace measured so far, so the run stops on the clock at a step
 * boundary and its cosine ends at that step. The steps stay capped by the config's own schedule.
 * Until 2026-12-01 a probe of five steps on a throwaway model made a first fit before the run; the
 * re-fit made it redundant, and its 7-26 s counted in the stage's time (the demo's stages took 206,
 * 193 and 187 s of a 180 s budget at mask 0, 0.5 and 0.75).
 */
final class WallClockBudget {
  private static final Logger log = LoggerFactory.getLogger(WallClockBudget.class);

  private WallClockBudget() {}

  /**
   * The in-run fit: after each step, how many steps the schedule has, so that the stage ends within
   * half a step of its budget. The pace is the wall-clock time per step since the first step of
   * this attempt ended (the first warms caches), everything between steps included. The stage's
   * last checkpoint (written, uploaded, recorded) comes after its last step, so the newest
   * checkpoint's time is held back from the budget. Steps of an earlier attempt (a resume) count at
   * today's pace, as their time is not in the checkpoint.
   */
  static final class Pace {
    private final long budgetNanos;
    private final long capSteps;
    private long startStep = -1;
    private long startNanos;
    private long firstStepEndNanos;
    private long checkpointNanos;

    /**
     * @param capSteps the schedule's length without a budget: a budget never lengthens it past this
     */
    Pace(long budgetSeconds, long capSteps) {
      if (budgetSeconds <= 0 || capSteps <= 0) {
        throw new IllegalArgumentException(
            "wallClockBudgetSeconds and the schedule must be positive, got "
                + budgetSeconds
                + " s and "
                + capSteps
                + " steps");
      }
      this.budgetNanos = budgetSeconds * 1_000_000_000L;
      this.capSteps = capSteps;
    }

    /** The clock starts: {@code step} steps are done already (a resumed attempt). */
    void start(long step, long nowNanos) {
      startStep = step;
      startNanos = nowNanos;
    }

    /** For the log: where the run ended against its budget. */
    String describe(long step, long nowNanos) {
      return String.format(
          "ended at step %d after %.1f s of %.0f s (last checkpoint %.2f s)",
          step, (nowNanos - startNanos) / 1e9, budgetNanos / 1e9, checkpointNanos / 1e9);
    }

    /** A checkpoint took this long; the final one is expected to take as long. */
    void checkpointTook(long nanos) {
      checkpointNanos = nanos;
      log.info("checkpoint took {} ms", nanos / 1_000_000);
    }

    /**
     * The schedule's length once {@code step} steps are done at {@code nowNanos}: never less than
     * {@code step} (the run ends here), never more than the cap; {@code current} until a pace is
     * measured.
     */
    long totalSteps(long step, long nowNanos, long current) {
      if (startStep < 0) {
        throw new IllegalStateException("the pace's clock was not started");
      }
      long done = step - startStep;
      if (done == 1) {
        firstStepEndNanos = nowNanos;
      }
      if (done < 2) {
        return Math.max(step, Math.min(capSteps, current));
      }
      double pace = (double) (nowNanos - firstStepEndNanos) / (done - 1);
      double elapsed = (nowNanos - startNanos) + startStep * pace;
      long fits = Math.round((budgetNanos - checkpointNanos - elapsed) / pace);
      return Math.max(step, Math.min(capSteps, step + Math.max(0, fits)));
    }
  }
}
