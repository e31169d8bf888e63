-- flipflow's run record, v1. In the spirit of MLflow's tracking schema, with FLIP's scaling axes as typed
-- columns so the paper's tables are plain SQL. Every key is natural (workflow id, stage, step, ...) so a
-- retried activity upserts instead of duplicating. Later changes come as new migrations, never edits here.

CREATE TABLE studies (
    study_id          TEXT PRIMARY KEY,               -- = the ScalingStudyWorkflow's workflow id
    name              TEXT NOT NULL,
    workflow_run_id   TEXT,
    status            TEXT NOT NULL DEFAULT 'RUNNING'
                      CHECK (status IN ('RUNNING', 'FINISHED', 'FAILED', 'CANCELLED')),
    budget            TEXT,                           -- 'equal_samples' or 'equal_wall_clock'
    spec              JSONB NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at       TIMESTAMPTZ
);

CREATE TABLE runs (
    run_id            TEXT PRIMARY KEY,               -- = the FlipPipelineWorkflow's workflow id
    workflow_run_id   TEXT,
    study_id          TEXT REFERENCES studies (study_id),
    name              TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'RUNNING'
                      CHECK (status IN ('RUNNING', 'FINISHED', 'FAILED', 'CANCELLED')),
    -- the paper's axes, typed
    model_preset      TEXT NOT NULL,
    image_size        INTEGER NOT NULL,
    mask_ratio        DOUBLE PRECISION NOT NULL CHECK (mask_ratio >= 0 AND mask_ratio < 1),
    batch_size        INTEGER NOT NULL CHECK (batch_size > 0),
    schedule_samples  BIGINT,                         -- planned samples seen in pretraining
    data_uri          TEXT NOT NULL,
    data_samples      BIGINT,                         -- size of the training set after staging
    unmasked_tuning   BOOLEAN NOT NULL DEFAULT TRUE,
    seed              BIGINT,
    device            TEXT,
    spec              JSONB NOT NULL,
    error             TEXT,
    started_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at       TIMESTAMPTZ
);
CREATE INDEX runs_study_idx ON runs (study_id);

-- one row per pipeline stage (stage_data, pretrain, eval_pretrain, unmasked_tune, eval_tuned)
CREATE TABLE stages (
    run_id            TEXT NOT NULL REFERENCES runs (run_id),
    stage             TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('RUNNING', 'FINISHED', 'FAILED', 'CANCELLED', 'SKIPPED')),
    attempt           INTEGER NOT NULL DEFAULT 1,
    started_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at       TIMESTAMPTZ,
    wall_seconds      DOUBLE PRECISION,
    steps             BIGINT,
    samples_seen      BIGINT,
    samples_per_second DOUBLE PRECISION,
    details           JSONB,
    PRIMARY KEY (run_id, stage)
);

-- append-only training time series; (run, stage, step) makes a retried batch insert a no-op
CREATE TABLE metrics (
    run_id            TEXT NOT NULL REFERENCES runs (run_id),
    stage             TEXT NOT NULL,
    step              BIGINT NOT NULL,
    samples_seen      BIGINT NOT NULL,
    loss              DOUBLE PRECISION,
    logit_scale       DOUBLE PRECISION,
    learning_rate     DOUBLE PRECISION,
    samples_per_second DOUBLE PRECISION,
    step_millis       DOUBLE PRECISION,
    wall_seconds      DOUBLE PRECISION,               -- since the stage started, for loss vs wall-clock
    recorded_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, stage, step)
);

-- a row is written only after the checkpoint is complete in S3 (size and checksum verified)
CREATE TABLE checkpoints (
    run_id            TEXT NOT NULL REFERENCES runs (run_id),
    stage             TEXT NOT NULL,
    step              BIGINT NOT NULL,
    samples_seen      BIGINT NOT NULL,
    uri               TEXT NOT NULL,
    size_bytes        BIGINT NOT NULL,
    sha256            TEXT NOT NULL,
    is_final          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, stage, step)
);

CREATE TABLE eval_results (
    run_id            TEXT NOT NULL REFERENCES runs (run_id),
    phase             TEXT NOT NULL,                  -- 'pretrained' or 'tuned' (or 'adhoc' from flipflow eval)
    checkpoint_uri    TEXT NOT NULL,
    task              TEXT NOT NULL,                  -- 'zeroshot_classification', 'zeroshot_retrieval', ...
    dataset           TEXT NOT NULL,
    split             TEXT NOT NULL,                  -- 'seen' / 'unseen' concepts, or 'all'
    inference         TEXT NOT NULL DEFAULT 'full',   -- 'full', 'masked_0.50', 'masked_0.50_x4', ...
    metric            TEXT NOT NULL,
    value             DOUBLE PRECISION NOT NULL,
    recorded_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, phase, task, dataset, split, inference, metric)
);

-- samples skipped while importing, staging or evaluating, with the reason
CREATE TABLE data_issues (
    dataset_uri       TEXT NOT NULL,
    shard             TEXT NOT NULL,
    sample_key        TEXT NOT NULL,
    reason            TEXT NOT NULL,
    run_id            TEXT,
    recorded_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset_uri, shard, sample_key)
);

-- analysts read everything and write nothing; the role is created where the migrating user may
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'flipflow_reader') THEN
        CREATE ROLE flipflow_reader NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'not allowed to create role flipflow_reader; ask an administrator to create it';
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'flipflow_reader') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO flipflow_reader', current_schema());
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO flipflow_reader', current_schema());
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT ON TABLES TO flipflow_reader', current_schema());
    END IF;
END
$$;
