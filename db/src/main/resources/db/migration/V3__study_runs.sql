-- A study's link to each of its runs with the outcome, also for a run that failed before it could
-- write its own row (a bad spec, say), so a study never loses track of a child.
CREATE TABLE study_runs (
    study_id          TEXT NOT NULL REFERENCES studies (study_id),
    run_id            TEXT NOT NULL,                  -- the child FlipPipelineWorkflow's id
    status            TEXT NOT NULL CHECK (status IN ('RUNNING', 'FINISHED', 'FAILED', 'CANCELLED')),
    model_preset      TEXT,
    data_samples      BIGINT,
    schedule_samples  BIGINT,
    mask_ratio        DOUBLE PRECISION,
    batch_size        INTEGER,
    zero_shot_top1    DOUBLE PRECISION,
    samples_seen      BIGINT,
    wall_seconds      DOUBLE PRECISION,
    message           TEXT,
    recorded_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (study_id, run_id)
);

-- a lone run may name a study that is recorded later (or never): keep the id, drop the hard link
ALTER TABLE runs DROP CONSTRAINT runs_study_id_fkey;
ALTER TABLE runs ADD COLUMN zero_shot_top1 DOUBLE PRECISION;
ALTER TABLE runs ADD COLUMN samples_seen BIGINT;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'flipflow_reader') THEN
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO flipflow_reader', current_schema());
    END IF;
END
$$;
