-- Table 1f: reconstruction (FLIP's ablation; the paper: -0.2 / -0.3 points, no gain). The weight
-- comes from the run's spec, where a run without a reconstruction field trained no decoder.
CREATE VIEW v_table1f_reconstruction AS
SELECT a.study_id,
       coalesce((r.spec #>> '{reconstruction,weight}')::double precision, 0) AS reconstruction_weight,
       (r.spec #>> '{reconstruction,decoderLayers}')::int                   AS decoder_layers,
       (r.spec #>> '{reconstruction,decoderWidth}')::int                    AS decoder_width,
       a.mask_ratio, a.batch_size, a.model_preset, a.dataset, a.split, a.seed,
       a.top1_pct, a.top1_low_pct, a.top1_high_pct,
       round(a.top1_pct - base.top1_pct, 2)                    AS delta_vs_no_decoder_pct,
       a.pretrain_seconds, a.pretrain_samples, a.run_id
FROM v_table1a_mask_ratio a
JOIN runs r ON r.run_id = a.run_id
LEFT JOIN LATERAL (
    SELECT b.top1_pct FROM v_table1a_mask_ratio b JOIN runs rb ON rb.run_id = b.run_id
    WHERE b.study_id = a.study_id AND b.mask_ratio = a.mask_ratio
      AND b.batch_size = a.batch_size AND b.model_preset = a.model_preset
      AND b.dataset = a.dataset AND b.split = a.split
      AND b.seed IS NOT DISTINCT FROM a.seed
      AND coalesce((rb.spec #>> '{reconstruction,weight}')::double precision, 0) = 0
    LIMIT 1) base ON TRUE;

-- the decoder's own loss per step (metrics.loss is the total: contrastive + weight x this)
ALTER TABLE metrics ADD COLUMN reconstruction_loss DOUBLE PRECISION;
