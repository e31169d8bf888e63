/**
 * The {@code flipflow} command (picocli): up, worker, data, run, study, eval, bench, report, demo.
 * Commands start workflows and print what the record holds; they hold no logic of their own that a
 * worker would need.
 *
 * <p>May import: every module of flipflow.
 */
package io.flipflow.infra.cli;
