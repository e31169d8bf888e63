/**
 * Benchmarks and device checks, the one home for them: {@code flipflow bench masking}, {@code
 * equal-memory}, {@code staging} (with {@code --synthetic}, fanned-out staging in worker JVMs),
 * {@code openclip}, {@code orchestration}, {@code data-parallel} (ranks as separate JVMs), and the
 * GPU check's {@link io.flipflow.infra.bench.DeviceCheck}. They time the product's own public APIs
 * (the trainer's {@code trainStep}, staging, the staged reader) side by side, alternating
 * configurations and reporting medians; figures are recorded through the db's benchmark store.
 * Nothing in here is used by a workflow or an activity.
 *
 * <p>May import: the activities, workflows and db modules, DJL, the JDK.
 */
package io.flipflow.infra.bench;
