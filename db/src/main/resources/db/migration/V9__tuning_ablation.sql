-- The unmasked-tuning ablation (FLIP section 3.3: tuning closes the gap between masked training
-- and full-image inference). A run's tuning settings come from its spec; a spec written before
-- the optimizer and warmup fields were named trained with a fresh optimizer warming up over at
-- most a tenth of the stage (0.1 below; the rule then also capped it at pretraining's warmup).
CREATE VIEW v_tuning_ablation_runs AS
SELECT e.study_id, e.run_id, e.mask_ratio, e.seed, e.dataset, e.split,
       coalesce(r.spec #>> '{unmaskedTuning,optimizer}', 'fresh')                 AS optimizer,
       (r.spec #>> '{unmaskedTuning,lrFactor}')::double precision                 AS lr_factor,
       (r.spec #>> '{unmaskedTuning,sampleFraction}')::double precision           AS sample_fraction,
       coalesce((r.spec #>> '{unmaskedTuning,warmupFraction}')::double precision, 0.1)
                                                                                  AS warmup_fraction,
       st.samples_seen                                                            AS tuning_samples,
       e.top1_pretrained_pct, e.top1_tuned_pct, e.gain_pct, e.gain_low_pct, e.gain_high_pct,
       e.n_samples
FROM v_table1e_unmasked_tuning e
JOIN runs r ON r.run_id = e.run_id AND r.status = 'FINISHED'
LEFT JOIN stages st ON st.run_id = e.run_id AND st.stage = 'unmasked_tune';

-- One tuning setting at one mask ratio over its seeds: the mean gain with Student's t interval
-- where there are two or more seeds, the one run's interval over the evaluation set otherwise.
-- The gain's interval over the set treats the two accuracies as independent, so it is wider than
-- a paired one on the same images would be.
CREATE VIEW v_tuning_ablation AS
SELECT a.study_id, a.mask_ratio, a.optimizer, a.lr_factor, a.sample_fraction, a.warmup_fraction,
       a.dataset, a.split,
       count(*)                                              AS seeds,
       round(avg(a.tuning_samples))                          AS tuning_samples,
       round(avg(a.top1_pretrained_pct), 2)                  AS top1_pretrained_pct,
       round(avg(a.top1_tuned_pct), 2)                       AS top1_tuned_pct,
       round(avg(a.gain_pct), 2)                             AS gain_pct,
       CASE WHEN count(*) >= 2
            THEN round((avg(a.gain_pct) - t975(count(*)::int - 1) * stddev_samp(a.gain_pct)
                                         / sqrt(count(*)))::numeric, 2)
            ELSE min(a.gain_low_pct) END                     AS gain_low_pct,
       CASE WHEN count(*) >= 2
            THEN round((avg(a.gain_pct) + t975(count(*)::int - 1) * stddev_samp(a.gain_pct)
                                         / sqrt(count(*)))::numeric, 2)
            ELSE max(a.gain_high_pct) END                    AS gain_high_pct,
       array_agg(a.seed ORDER BY a.seed)                     AS seed_list
FROM v_tuning_ablation_runs a
GROUP BY a.study_id, a.mask_ratio, a.optimizer, a.lr_factor, a.sample_fraction,
         a.warmup_fraction, a.dataset, a.split;
