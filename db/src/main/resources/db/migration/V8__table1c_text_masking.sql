-- Table 1c: text masking (FLIP's ablation; the paper: -2.2 points random, -0.4 prioritized at 50%).
-- The ratio and mode come from the run's spec, where a run without them masked no text.
CREATE VIEW v_table1c_text_masking AS
SELECT a.study_id,
       coalesce((r.spec ->> 'textMaskRatio')::double precision, 0) AS text_mask_ratio,
       CASE WHEN coalesce((r.spec ->> 'textMaskRatio')::double precision, 0) = 0 THEN 'none'
            ELSE coalesce(r.spec ->> 'textMasking', 'random') END AS text_masking,
       a.mask_ratio, a.batch_size, a.model_preset, a.dataset, a.split, a.seed,
       a.top1_pct, a.top1_low_pct, a.top1_high_pct,
       round(a.top1_pct - base.top1_pct, 2)                    AS delta_vs_unmasked_text_pct,
       a.pretrain_seconds, a.pretrain_samples, a.run_id
FROM v_table1a_mask_ratio a
JOIN runs r ON r.run_id = a.run_id
LEFT JOIN LATERAL (
    SELECT b.top1_pct FROM v_table1a_mask_ratio b JOIN runs rb ON rb.run_id = b.run_id
    WHERE b.study_id = a.study_id AND b.mask_ratio = a.mask_ratio
      AND b.batch_size = a.batch_size AND b.model_preset = a.model_preset
      AND b.dataset = a.dataset AND b.split = a.split
      AND b.seed IS NOT DISTINCT FROM a.seed
      AND coalesce((rb.spec ->> 'textMaskRatio')::double precision, 0) = 0
    LIMIT 1) base ON TRUE;
