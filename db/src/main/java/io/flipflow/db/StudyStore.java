package io.flipflow.db;

import java.sql.SQLException;

/**
 * Tables {@code studies} and {@code study_runs}, written by the control worker's record activities:
 * a study's spec and status, and its link to each run with the run's outcome.
 */
public final class StudyStore {
  private final Database db;

  StudyStore(Database db) {
    this.db = db;
  }

  /**
   * @param temporalRunId Temporal's run id of the study's execution
   */
  public record StudyRow(
      String studyId, String name, String temporalRunId, String budget, String specJson) {}

  /**
   * @param workflowId the child pipeline's workflow id
   */
  public record StudyRunRow(
      String studyId,
      String workflowId,
      String status,
      String modelPreset,
      Long dataSamples,
      Long scheduleSamples,
      Double maskRatio,
      Integer batchSize,
      Double zeroShotTop1,
      Long samplesSeen,
      Double wallSeconds,
      String message) {}

  public boolean exists(String studyId) throws SQLException {
    return Sql.first(db, "SELECT 1 FROM studies WHERE study_id = ?", rs -> true, studyId)
        .isPresent();
  }

  public void upsertStudy(StudyRow s) throws SQLException {
    Sql.update(
        db,
        """
        INSERT INTO studies (study_id, name, workflow_run_id, budget, spec)
        VALUES (?, ?, ?, ?, ?::jsonb)
        ON CONFLICT (study_id) DO UPDATE SET workflow_run_id = EXCLUDED.workflow_run_id,
          name = EXCLUDED.name, budget = EXCLUDED.budget, spec = EXCLUDED.spec
        """,
        s.studyId(),
        s.name(),
        s.temporalRunId(),
        s.budget(),
        s.specJson());
  }

  /** RUNNING clears the end time; any other status sets it. */
  public void setStudyStatus(String studyId, String status) throws SQLException {
    Sql.update(
        db,
        """
        UPDATE studies SET status = ?,
          finished_at = CASE WHEN ? = 'RUNNING' THEN NULL ELSE now() END
        WHERE study_id = ?
        """,
        status,
        status,
        studyId);
  }

  public void upsertStudyRun(StudyRunRow r) throws SQLException {
    Sql.update(
        db,
        """
        INSERT INTO study_runs (study_id, run_id, status, model_preset, data_samples,
          schedule_samples, mask_ratio, batch_size, zero_shot_top1, samples_seen, wall_seconds,
          message)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (study_id, run_id) DO UPDATE SET status = EXCLUDED.status,
          zero_shot_top1 = EXCLUDED.zero_shot_top1, samples_seen = EXCLUDED.samples_seen,
          wall_seconds = EXCLUDED.wall_seconds, message = EXCLUDED.message, recorded_at = now()
        """,
        r.studyId(),
        r.workflowId(),
        r.status(),
        r.modelPreset(),
        r.dataSamples(),
        r.scheduleSamples(),
        r.maskRatio(),
        r.batchSize(),
        r.zeroShotTop1(),
        r.samplesSeen(),
        r.wallSeconds(),
        r.message());
  }
}
