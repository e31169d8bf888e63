-- Views that print the FLIP paper's tables for any study, plus a table for benchmark results.
-- Filter by dataset and split, e.g. WHERE dataset = 'emoji-subgroup' AND split = 'unseen'.

-- one line per run: its axes, status and wall-clock per stage
CREATE VIEW v_run_summary AS
SELECT r.study_id, r.run_id, r.name, r.status, r.model_preset, r.image_size, r.mask_ratio,
       r.batch_size, r.schedule_samples, r.data_samples, r.unmasked_tuning,
       p.wall_seconds                        AS pretrain_seconds,
       p.samples_seen                        AS pretrain_samples,
       p.samples_per_second                  AS pretrain_samples_per_second,
       t.wall_seconds                        AS tune_seconds,
       COALESCE(p.wall_seconds, 0) + COALESCE(t.wall_seconds, 0) AS train_seconds,
       EXTRACT(EPOCH FROM (r.finished_at - r.started_at)) AS pipeline_seconds,
       r.started_at, r.finished_at
FROM runs r
LEFT JOIN stages p ON p.run_id = r.run_id AND p.stage = 'pretrain'
LEFT JOIN stages t ON t.run_id = r.run_id AND t.stage = 'unmasked_tune';

-- zero-shot classification with full images, one line per run, phase, data set and split
CREATE VIEW v_zero_shot AS
SELECT e.run_id, e.phase, e.dataset, e.split,
       max(e.value) FILTER (WHERE e.metric = 'acc1')                  AS acc1,
       max(e.value) FILTER (WHERE e.metric = 'acc5')                  AS acc5,
       max(e.value) FILTER (WHERE e.metric = 'mean_per_class_recall') AS mean_per_class_recall
FROM eval_results e
WHERE e.task = 'zeroshot_classification' AND e.inference = 'full'
GROUP BY e.run_id, e.phase, e.dataset, e.split;

-- the final accuracy of a run: after unmasked tuning when it ran, else after pretraining
CREATE VIEW v_final_zero_shot AS
SELECT DISTINCT ON (z.run_id, z.dataset, z.split) z.*
FROM v_zero_shot z
ORDER BY z.run_id, z.dataset, z.split, (z.phase = 'tuned') DESC;

-- Table 1a: mask ratio vs zero-shot accuracy and wall-clock, speed-up against mask 0 in the study
CREATE VIEW v_table1a_mask_ratio AS
SELECT s.study_id, s.mask_ratio, s.batch_size, s.model_preset, f.dataset, f.split,
       round(f.acc1::numeric * 100, 2)               AS top1_pct,
       round(f.acc5::numeric * 100, 2)               AS top5_pct,
       round(s.train_seconds::numeric, 1)            AS train_seconds,
       round((s.train_seconds / NULLIF(base.train_seconds, 0))::numeric, 3) AS time_vs_unmasked,
       s.pretrain_samples, s.run_id
FROM v_run_summary s
JOIN v_final_zero_shot f ON f.run_id = s.run_id
LEFT JOIN LATERAL (
    SELECT b.train_seconds FROM v_run_summary b
    WHERE b.study_id = s.study_id AND b.mask_ratio = 0 AND b.model_preset = s.model_preset
      AND b.batch_size = s.batch_size
    ORDER BY b.finished_at DESC NULLS LAST LIMIT 1) base ON TRUE
WHERE s.status = 'FINISHED';

-- Table 1b: batch size at each mask ratio
CREATE VIEW v_table1b_batch_size AS
SELECT s.study_id, s.batch_size, s.mask_ratio, s.model_preset, f.dataset, f.split,
       round(f.acc1::numeric * 100, 2) AS top1_pct, round(s.train_seconds::numeric, 1) AS train_seconds,
       s.run_id
FROM v_run_summary s JOIN v_final_zero_shot f ON f.run_id = s.run_id
WHERE s.status = 'FINISHED';

-- Table 1d: inference with masked images (single view and ensembles) against full images
CREATE VIEW v_table1d_masked_inference AS
SELECT r.study_id, r.run_id, r.mask_ratio AS train_mask_ratio, e.phase, e.dataset, e.split,
       e.inference,
       round(e.value::numeric * 100, 2)                   AS top1_pct,
       round((e.value - fv.value)::numeric * 100, 2)    AS delta_vs_full_pct
FROM eval_results e
JOIN runs r ON r.run_id = e.run_id
JOIN eval_results fv ON fv.run_id = e.run_id AND fv.phase = e.phase AND fv.task = e.task
     AND fv.dataset = e.dataset AND fv.split = e.split AND fv.metric = e.metric
     AND fv.inference = 'full'
WHERE e.task = 'zeroshot_classification' AND e.metric = 'acc1';

-- Table 1e: the gain of unmasked tuning (before vs after, same run)
CREATE VIEW v_table1e_unmasked_tuning AS
SELECT r.study_id, r.run_id, r.mask_ratio, p.dataset, p.split,
       round(p.acc1::numeric * 100, 2)              AS top1_pretrained_pct,
       round(t.acc1::numeric * 100, 2)              AS top1_tuned_pct,
       round((t.acc1 - p.acc1)::numeric * 100, 2)   AS gain_pct
FROM runs r
JOIN v_zero_shot p ON p.run_id = r.run_id AND p.phase = 'pretrained'
JOIN v_zero_shot t ON t.run_id = r.run_id AND t.phase = 'tuned'
                   AND t.dataset = p.dataset AND t.split = p.split;

-- Scaling (paper section 4): model size, data size, schedule length, each against accuracy and time
CREATE VIEW v_scaling AS
SELECT s.study_id, s.model_preset, s.data_samples, s.schedule_samples, s.mask_ratio, s.batch_size,
       f.dataset, f.split, round(f.acc1::numeric * 100, 2) AS top1_pct,
       round(s.train_seconds::numeric, 1) AS train_seconds, s.run_id
FROM v_run_summary s JOIN v_final_zero_shot f ON f.run_id = s.run_id
WHERE s.status = 'FINISHED';

-- benchmark figures, each with the machine it ran on
CREATE TABLE benchmarks (
    bench_id          TEXT NOT NULL,                  -- one invocation
    name              TEXT NOT NULL,                  -- 'masking', 'openclip', 'staging', 'orchestration'
    machine           TEXT NOT NULL,
    params            JSONB NOT NULL,
    metric            TEXT NOT NULL,
    value             DOUBLE PRECISION NOT NULL,
    recorded_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (bench_id, name, metric, params)
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'flipflow_reader') THEN
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO flipflow_reader', current_schema());
    END IF;
END
$$;
