-- Table 1d masks each model at the ratio it was trained at (FLIP's protocol; before this, every
-- model was masked at 0.5). The ratio and view count are read back from the inference label
-- ('full', 'mask0.75', 'mask0.75x4'; 'masked_0.50' in older records), so rows written before
-- this migration show what they measured.
CREATE OR REPLACE VIEW v_table1d_masked_inference AS
SELECT r.study_id, r.run_id, r.mask_ratio AS train_mask_ratio, e.phase, e.dataset, e.split,
       e.inference,
       round(e.value::numeric * 100, 2)                   AS top1_pct,
       round((e.value - fv.value)::numeric * 100, 2)    AS delta_vs_full_pct,
       m.inference_mask_ratio,
       CASE WHEN e.inference = 'full' THEN 1
            ELSE coalesce(substring(e.inference from 'x([0-9]+)$')::int, 1) END AS inference_views,
       m.inference_mask_ratio = r.mask_ratio               AS at_train_ratio
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
