/**
 * The run record in PostgreSQL: Flyway migrations ({@code resources/db/migration}, the schema and
 * the views of the paper's tables) and all of flipflow's SQL. One store per concern, each the only
 * writer of its tables: {@link io.flipflow.db.RunStore} (runs, stages), {@link
 * io.flipflow.db.TrainingStore} (metrics, checkpoints), {@link io.flipflow.db.EvalStore}
 * (eval_results), {@link io.flipflow.db.DataIssueStore} (data_issues), {@link
 * io.flipflow.db.StudyStore} (studies, study_runs), {@link io.flipflow.db.BenchmarkStore}
 * (benchmarks); reads for reports in {@link io.flipflow.db.StudyRecord} and {@link
 * io.flipflow.db.PaperTables}. Every write is an upsert on natural keys. Column {@code run_id} is
 * the pipeline's <em>workflow id</em> (Java: {@code workflowId}); Temporal's run id of an execution
 * is {@code workflow_run_id} ({@code temporalRunId}).
 *
 * <p>May import: JDBC, the PostgreSQL driver, HikariCP, Flyway. Nothing of flipflow's: the
 * activities and infra call in, never the other way.
 */
package io.flipflow.db;
