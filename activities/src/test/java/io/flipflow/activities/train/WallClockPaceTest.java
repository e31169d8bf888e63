package io.flipflow.activities.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The in-run fit of an equal-wall-clock stage, on a simulated clock: the loop of {@code
 * ClipTrainer.run} (a step, a re-fit, a checkpoint every few steps and one after the last), with
 * step and checkpoint times chosen here, so "ends within 3% of its budget" is checked without
 * timing anything.
 */
class WallClockPaceTest {
  private static final long MS = 1_000_000L;

  /** Where a simulated stage ended. */
  record Ended(long steps, long nanos) {}

  /**
   * Runs the loop from {@code startStep} with a schedule of {@code initialSteps} (the spec's,
   * capped); step {@code i} takes {@code stepNanos[i % length]} (the first step takes {@code
   * firstStepNanos}), every {@code checkpointEvery}-th step and the last are followed by a
   * checkpoint of {@code checkpointNanos}.
   */
  static Ended simulate(
      WallClockBudget.Pace pace,
      long startStep,
      long initialSteps,
      long firstStepNanos,
      long[] stepNanos,
      int checkpointEvery,
      long checkpointNanos) {
    long now = 0;
    long step = startStep;
    pace.start(step, now);
    long total = pace.totalSteps(step, now, initialSteps);
    boolean first = true;
    while (step < total) {
      now += first ? firstStepNanos : stepNanos[(int) (step % stepNanos.length)];
      first = false;
      step++;
      total = pace.totalSteps(step, now, total);
      if (step % checkpointEvery == 0 || step == total) {
        now += checkpointNanos;
        pace.checkpointTook(checkpointNanos);
      }
    }
    return new Ended(step, now);
  }

  static void assertWithin3Percent(Ended ended, long budgetSeconds) {
    double share = ended.nanos() / (budgetSeconds * 1e9);
    assertTrue(
        Math.abs(share - 1) <= 0.03,
        "ended at step " + ended.steps() + " after " + share + "x of the budget");
  }

  @Test
  void aProbeThatGuessedTooFewStepsIsLengthenedToTheBudget() {
    // the probe's 100 ms/step misses the checkpoints: the demo's 0.77x case
    WallClockBudget.Pace pace = new WallClockBudget.Pace(60, 100_000);
    Ended ended = simulate(pace, 0, 450, 900 * MS, new long[] {100 * MS}, 20, 400 * MS);
    assertWithin3Percent(ended, 60);
    assertTrue(ended.steps() < 600, "checkpoints count against the budget: " + ended.steps());
  }

  @Test
  void aProbeThatGuessedTooManyStepsStopsOnTheClock() {
    WallClockBudget.Pace pace = new WallClockBudget.Pace(30, 100_000);
    Ended ended = simulate(pace, 0, 2000, 100 * MS, new long[] {70 * MS, 130 * MS}, 25, 50 * MS);
    assertWithin3Percent(ended, 30);
  }

  @Test
  void noisyStepsStillEndWithin3Percent() {
    Random random = new Random(17);
    long[] steps = new long[97];
    for (int i = 0; i < steps.length; i++) {
      steps[i] = (long) ((40 + random.nextDouble() * 120) * MS); // 40-160 ms, median 100
    }
    for (long budget : new long[] {10, 45, 300}) {
      Ended ended =
          simulate(new WallClockBudget.Pace(budget, 1_000_000), 0, 10, 2 * MS, steps, 30, 80 * MS);
      assertWithin3Percent(ended, budget);
    }
  }

  @Test
  void aResumedAttemptCountsTheStepsBeforeItAtTodaysPace() {
    // 200 steps of 100 ms were done before the restart: 20 s of a 50 s budget
    WallClockBudget.Pace pace = new WallClockBudget.Pace(50, 100_000);
    Ended ended = simulate(pace, 200, 480, 100 * MS, new long[] {100 * MS}, 50, 0);
    long expected = 500;
    assertTrue(
        Math.abs(ended.steps() - expected) <= 1, "steps " + ended.steps() + ", not " + expected);
  }

  @Test
  void theScheduleNeverGrowsPastItsOwnLength() {
    WallClockBudget.Pace pace = new WallClockBudget.Pace(3600, 300);
    Ended ended = simulate(pace, 0, 300, 10 * MS, new long[] {10 * MS}, 100, 0);
    assertEquals(300, ended.steps());
  }

  @Test
  void aBudgetSpentAlreadyEndsAtTheNextStep() {
    WallClockBudget.Pace pace = new WallClockBudget.Pace(1, 1000);
    Ended ended = simulate(pace, 0, 1000, 5_000 * MS, new long[] {5_000 * MS}, 1000, 0);
    assertTrue(ended.steps() <= 3, "ran " + ended.steps() + " steps of 5 s on a 1 s budget");
  }

  @Test
  void aPaceMustBeStartedAndPositive() {
    assertThrows(IllegalArgumentException.class, () -> new WallClockBudget.Pace(0, 10));
    assertThrows(
        IllegalStateException.class, () -> new WallClockBudget.Pace(10, 10).totalSteps(1, 0, 10));
  }
}
