package io.flipflow.workflows.plan;

/**
 * What staging is asked to do: turn raw shards into training-ready ones.
 *
 * @param dataUri raw img2dataset shards: an s3:// prefix or brace pattern
 * @param resolution image side in pixels to stage at (the model's input size)
 * @param contextLength tokens per caption (the text tower's context)
 */
public record StagingRequest(String dataUri, int resolution, int contextLength) {}
