/**
 * {@code StagingWorkflow}: a data set's staging fanned out over the cpu workers, one activity per
 * shard group, the manifest published once every group is staged. The pipeline runs it as a child.
 *
 * <p>May import: the rest of this module, the Temporal SDK's workflow API.
 */
package io.flipflow.workflows.staging;
