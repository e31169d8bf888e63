-- Results with their uncertainty. Every accuracy is a fraction of an evaluation set, so each row
-- now records how many queries it was measured on (n_samples), and the paper views give a 95%
-- interval: Wilson's binomial interval over the evaluation set for one run, and Student's t over
-- the seeds of a grid point where a study ran several (v_seeds_*). Rows recorded before this
-- migration have no n_samples, and so no interval.
ALTER TABLE eval_results ADD COLUMN n_samples INTEGER CHECK (n_samples IS NULL OR n_samples > 0);

-- Wilson score interval for a proportion p of n at 95% (z = 1.959964); null without n. Written in
-- SQL rather than taken from an extension: it is three lines, and extensions need a superuser.
CREATE FUNCTION wilson_low(p DOUBLE PRECISION, n INTEGER) RETURNS DOUBLE PRECISION
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN n IS NULL OR n <= 0 OR p IS NULL OR p <> p THEN NULL ELSE
        (p + 3.841459 / (2 * n) - 1.959964 * sqrt(p * (1 - p) / n + 3.841459 / (4.0 * n * n)))
        / (1 + 3.841459 / n) END $$;
CREATE FUNCTION wilson_high(p DOUBLE PRECISION, n INTEGER) RETURNS DOUBLE PRECISION
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN n IS NULL OR n <= 0 OR p IS NULL OR p <> p THEN NULL ELSE
        (p + 3.841459 / (2 * n) + 1.959964 * sqrt(p * (1 - p) / n + 3.841459 / (4.0 * n * n)))
        / (1 + 3.841459 / n) END $$;

-- Student's t quantile t(0.975, df); the normal 1.96 beyond 30 degrees of freedom (at most 2%
-- narrower than the exact value there). A table, since PostgreSQL has no t distribution.
CREATE FUNCTION t975(df INTEGER) RETURNS DOUBLE PRECISION LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN df IS NULL OR df < 1 THEN NULL WHEN df > 30 THEN 1.959964 ELSE
        (ARRAY[12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
               2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
               2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042])[df]
        END $$;

-- the run's seed, appended (the views below tell seeds of one grid point apart by it)
CREATE OR REPLACE VIEW v_run_summary AS
SELECT r.study_id, r.run_id, r.name, r.status, r.model_preset, r.image_size, r.mask_ratio,
       r.batch_size, r.schedule_samples, r.data_samples, r.unmasked_tuning,
       p.wall_seconds                        AS pretrain_seconds,
       p.samples_seen                        AS pretrain_samples,
       p.samples_per_second                  AS pretrain_samples_per_second,
       t.wall_seconds                        AS tune_seconds,
       COALESCE(p.wall_seconds, 0) + COALESCE(t.wall_seconds, 0) AS train_seconds,
       EXTRACT(EPOCH FROM (r.finished_at - r.started_at)) AS pipeline_seconds,
       r.started_at, r.finished_at,
       r.seed
FROM runs r
LEFT JOIN stages p ON p.run_id = r.run_id AND p.stage = 'pretrain'
LEFT JOIN stages t ON t.run_id = r.run_id AND t.stage = 'unmasked_tune';

CREATE OR REPLACE VIEW v_zero_shot AS
SELECT e.run_id, e.phase, e.dataset, e.split,
       max(e.value) FILTER (WHERE e.metric = 'acc1')                  AS acc1,
       max(e.value) FILTER (WHERE e.metric = 'acc5')                  AS acc5,
       max(e.value) FILTER (WHERE e.metric = 'mean_per_class_recall') AS mean_per_class_recall,
       max(e.n_samples) FILTER (WHERE e.metric = 'acc1')              AS n_samples
FROM eval_results e
WHERE e.task = 'zeroshot_classification' AND e.inference = 'full'
GROUP BY e.run_id, e.phase, e.dataset, e.split;

CREATE OR REPLACE VIEW v_final_zero_shot AS
SELECT DISTINCT ON (z.run_id, z.dataset, z.split) z.*
FROM v_zero_shot z
ORDER BY z.run_id, z.dataset, z.split, (z.phase = 'tuned') DESC;

-- Table 1a, appended: the interval, the seed, and pretraining time against the unmasked run of the
-- same seed (equal wall-clock means equal pretraining; time_vs_unmasked also counts tuning)
CREATE OR REPLACE VIEW v_table1a_mask_ratio AS
SELECT s.study_id, s.mask_ratio, s.batch_size, s.model_preset, f.dataset, f.split,
       round(f.acc1::numeric * 100, 2)               AS top1_pct,
       round(f.acc5::numeric * 100, 2)               AS top5_pct,
       round(s.train_seconds::numeric, 1)            AS train_seconds,
       round((s.train_seconds / NULLIF(base.train_seconds, 0))::numeric, 3) AS time_vs_unmasked,
       s.pretrain_samples, s.run_id,
       round(wilson_low(f.acc1, f.n_samples)::numeric * 100, 2)  AS top1_low_pct,
       round(wilson_high(f.acc1, f.n_samples)::numeric * 100, 2) AS top1_high_pct,
       f.n_samples,
       s.seed,
       round(s.pretrain_seconds::numeric, 1)         AS pretrain_seconds,
       round((s.pretrain_seconds / NULLIF(base.pretrain_seconds, 0))::numeric, 3)
                                                     AS pretrain_vs_unmasked
FROM v_run_summary s
JOIN v_final_zero_shot f ON f.run_id = s.run_id
LEFT JOIN LATERAL (
    SELECT b.train_seconds, b.pretrain_seconds FROM v_run_summary b
    WHERE b.study_id = s.study_id AND b.mask_ratio = 0 AND b.model_preset = s.model_preset
      AND b.batch_size = s.batch_size AND b.status = 'FINISHED'
    ORDER BY (b.seed IS NOT DISTINCT FROM s.seed) DESC, b.finished_at DESC NULLS LAST
    LIMIT 1) base ON TRUE
WHERE s.status = 'FINISHED';

-- Table 1e, appended: the seed, the evaluation set's size and an interval for the gain. Both
-- figures are measured on the same images, so the interval treats them as independent binomials
-- (sqrt(p1 q1 / n + p2 q2 / n)): conservative, since paired outcomes correlate.
CREATE OR REPLACE VIEW v_table1e_unmasked_tuning AS
SELECT r.study_id, r.run_id, r.mask_ratio, p.dataset, p.split,
       round(p.acc1::numeric * 100, 2)              AS top1_pretrained_pct,
       round(t.acc1::numeric * 100, 2)              AS top1_tuned_pct,
       round((t.acc1 - p.acc1)::numeric * 100, 2)   AS gain_pct,
       r.seed,
       t.n_samples,
       round(((t.acc1 - p.acc1) - 1.959964 * g.se)::numeric * 100, 2) AS gain_low_pct,
       round(((t.acc1 - p.acc1) + 1.959964 * g.se)::numeric * 100, 2) AS gain_high_pct
FROM runs r
JOIN v_zero_shot p ON p.run_id = r.run_id AND p.phase = 'pretrained'
JOIN v_zero_shot t ON t.run_id = r.run_id AND t.phase = 'tuned'
                   AND t.dataset = p.dataset AND t.split = p.split
CROSS JOIN LATERAL (
    SELECT sqrt((p.acc1 * (1 - p.acc1) + t.acc1 * (1 - t.acc1)) / NULLIF(t.n_samples, 0)) AS se) g;

-- A grid point of a study over its seeds: the mean with Student's t interval where there are two
-- or more seeds, the one run's Wilson interval where there is one.
CREATE VIEW v_seeds_table1a AS
SELECT a.study_id, a.mask_ratio, a.batch_size, a.model_preset, a.dataset, a.split,
       count(*)                                              AS seeds,
       round(avg(a.top1_pct), 2)                             AS top1_pct,
       round(stddev_samp(a.top1_pct), 2)                     AS top1_sd_pct,
       CASE WHEN count(*) >= 2
            THEN round((avg(a.top1_pct) - t975(count(*)::int - 1) * stddev_samp(a.top1_pct)
                                         / sqrt(count(*)))::numeric, 2)
            ELSE min(a.top1_low_pct) END                     AS top1_low_pct,
       CASE WHEN count(*) >= 2
            THEN round((avg(a.top1_pct) + t975(count(*)::int - 1) * stddev_samp(a.top1_pct)
                                         / sqrt(count(*)))::numeric, 2)
            ELSE max(a.top1_high_pct) END                    AS top1_high_pct,
       round(avg(a.pretrain_seconds), 1)                     AS pretrain_seconds,
       round(avg(a.pretrain_vs_unmasked), 3)                 AS pretrain_vs_unmasked,
       round(avg(a.pretrain_samples))                        AS pretrain_samples,
       array_agg(a.seed ORDER BY a.seed)                     AS seed_list
FROM v_table1a_mask_ratio a
GROUP BY a.study_id, a.mask_ratio, a.batch_size, a.model_preset, a.dataset, a.split;

CREATE VIEW v_seeds_table1e AS
SELECT e.study_id, e.mask_ratio, e.dataset, e.split,
       count(*)                                              AS seeds,
       round(avg(e.top1_pretrained_pct), 2)                  AS top1_pretrained_pct,
       round(avg(e.top1_tuned_pct), 2)                       AS top1_tuned_pct,
       round(avg(e.gain_pct), 2)                             AS gain_pct,
       CASE WHEN count(*) >= 2
            THEN round((avg(e.gain_pct) - t975(count(*)::int - 1) * stddev_samp(e.gain_pct)
                                         / sqrt(count(*)))::numeric, 2)
            ELSE min(e.gain_low_pct) END                     AS gain_low_pct,
       CASE WHEN count(*) >= 2
            THEN round((avg(e.gain_pct) + t975(count(*)::int - 1) * stddev_samp(e.gain_pct)
                                         / sqrt(count(*)))::numeric, 2)
            ELSE max(e.gain_high_pct) END                    AS gain_high_pct,
       array_agg(e.seed ORDER BY e.seed)                     AS seed_list
FROM v_table1e_unmasked_tuning e
JOIN runs r ON r.run_id = e.run_id AND r.status = 'FINISHED'
GROUP BY e.study_id, e.mask_ratio, e.dataset, e.split;

-- Table 1d, appended: the interval of the masked figure over the evaluation set
CREATE OR REPLACE VIEW v_table1d_masked_inference AS
SELECT r.study_id, r.run_id, r.mask_ratio AS train_mask_ratio, e.phase, e.dataset, e.split,
       e.inference,
       round(e.value::numeric * 100, 2)                   AS top1_pct,
       round((e.value - fv.value)::numeric * 100, 2)    AS delta_vs_full_pct,
       m.inference_mask_ratio,
       CASE WHEN e.inference = 'full' THEN 1
            ELSE coalesce(substring(e.inference from 'x([0-9]+)$')::int, 1) END AS inference_views,
       m.inference_mask_ratio = r.mask_ratio               AS at_train_ratio,
       round(wilson_low(e.value, e.n_samples)::numeric * 100, 2)  AS top1_low_pct,
       round(wilson_high(e.value, e.n_samples)::numeric * 100, 2) AS top1_high_pct
FROM eval_results e
JOIN runs r ON r.run_id = e.run_id
JOIN eval_results fv ON fv.run_id = e.run_id AND fv.phase = e.phase AND fv.task = e.task
     AND fv.dataset = e.dataset AND fv.split = e.split AND fv.metric = e.metric
     AND fv.inference = 'full'
CROSS JOIN LATERAL (
    SELECT CASE WHEN e.inference = 'full' THEN 0::double precision
                ELSE substring(e.inference from '^mask(?:ed_)?([0-9]*\.?[0-9]+)')::double precision
           END AS inference_mask_ratio) m
WHERE e.task = 'zeroshot_classification' AND e.metric = 'acc1';

-- Table 1b and the scaling axes, appended: the interval and the seed
CREATE OR REPLACE VIEW v_table1b_batch_size AS
SELECT s.study_id, s.batch_size, s.mask_ratio, s.model_preset, f.dataset, f.split,
       round(f.acc1::numeric * 100, 2) AS top1_pct, round(s.train_seconds::numeric, 1) AS train_seconds,
       s.run_id,
       round(wilson_low(f.acc1, f.n_samples)::numeric * 100, 2)  AS top1_low_pct,
       round(wilson_high(f.acc1, f.n_samples)::numeric * 100, 2) AS top1_high_pct,
       s.seed
FROM v_run_summary s JOIN v_final_zero_shot f ON f.run_id = s.run_id
WHERE s.status = 'FINISHED';

CREATE OR REPLACE VIEW v_scaling AS
SELECT s.study_id, s.model_preset, s.data_samples, s.schedule_samples, s.mask_ratio, s.batch_size,
       f.dataset, f.split, round(f.acc1::numeric * 100, 2) AS top1_pct,
       round(s.train_seconds::numeric, 1) AS train_seconds, s.run_id,
       round(wilson_low(f.acc1, f.n_samples)::numeric * 100, 2)  AS top1_low_pct,
       round(wilson_high(f.acc1, f.n_samples)::numeric * 100, 2) AS top1_high_pct,
       s.seed
FROM v_run_summary s JOIN v_final_zero_shot f ON f.run_id = s.run_id
WHERE s.status = 'FINISHED';
