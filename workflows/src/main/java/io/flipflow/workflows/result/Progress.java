package io.flipflow.workflows.result;

/**
 * A run's progress as the {@code progress} query answers it. Training activities send it with the
 * {@code reportProgress} signal; the workflow fills it from stage changes and activity results.
 *
 * @param stage where the run is
 * @param step optimizer steps done in the current training stage (0 outside training)
 * @param samplesSeen training samples consumed in the current training stage
 * @param lastLoss the newest loss known, null before the first report
 * @param samplesPerSecond training throughput, null before the first report
 * @param etaSeconds estimated seconds until the current training stage ends, null when unknown
 */
public record Progress(
    Stage stage,
    long step,
    long samplesSeen,
    Double lastLoss,
    Double samplesPerSecond,
    Long etaSeconds) {

  public static Progress at(Stage stage) {
    return new Progress(stage, 0, 0, null, null, null);
  }

  public Progress withStage(Stage newStage) {
    return new Progress(newStage, step, samplesSeen, lastLoss, samplesPerSecond, etaSeconds);
  }
}
