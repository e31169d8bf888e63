/**
 * Worker processes: what each task queue serves (workflows and recording on control, staging on
 * cpu, training and evaluation on gpu, one at a time on the worker's one device) and a graceful
 * stop.
 *
 * <p>May import: every module of flipflow; only the gpu queue's registrations touch DJL.
 */
package io.flipflow.infra.worker;
