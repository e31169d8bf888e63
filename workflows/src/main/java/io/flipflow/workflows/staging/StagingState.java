package io.flipflow.workflows.staging;

import io.flipflow.workflows.plan.StagingPlan;
import io.flipflow.workflows.result.StagingStatus;

/**
 * What a staging carries into its next execution (continue-as-new): the plan, the first group not
 * yet started, and the counts so far. The groups' results are in S3, so this stays small.
 */
public record StagingState(StagingPlan plan, int nextGroup, StagingStatus status) {}
