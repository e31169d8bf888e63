package io.flipflow.workflows.result;

/**
 * How far an evaluation is, as its activity heartbeats it (the UI's pending activity and {@code
 * flipflow eval}'s live line show it).
 *
 * @param set the evaluation set being encoded, empty before the first
 * @param phase what it is doing: loading the checkpoint, encoding classes, encoding images
 * @param done images (or texts) encoded of this set so far
 * @param total images (or texts) of this set
 */
public record EvalProgress(String set, String phase, long done, long total) {}
