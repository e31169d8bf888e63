/**
 * Zero-shot evaluation: classification (templates, acc1/acc5, mean per-class recall) and retrieval
 * (recall@K) of a checkpoint's model on the evaluation sets {@code flipflow data import} writes,
 * with full images and with FLIP's masked-inference views; results go to {@code eval_results} (this
 * package is its one writer) and, as clip_benchmark JSON, beside the checkpoint. The model is
 * loaded for inference alone from its checkpoint.
 *
 * <p>May import: {@code model}, {@code checkpoint}, {@code device}, {@code data} (the image
 * preprocessing staging uses, readers, tokenizer, S3, staging's tokenizer lookup for old
 * pipelines), {@code support}, the db stores, the workflows' records, DJL. Not {@code train}:
 * evaluation needs a model and a checkpoint, not a trainer.
 */
package io.flipflow.activities.eval;
