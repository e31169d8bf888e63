/**
 * What every activity shares with Temporal: {@link io.flipflow.activities.support.ActivityFailures}
 * turns an exception into retry-or-not, {@link io.flipflow.activities.support.Heartbeater}
 * heartbeats from its own thread and turns cancellation and shutdown into a stop flag.
 *
 * <p>May import: Temporal's activity and failure API, the JDK.
 */
package io.flipflow.activities.support;
