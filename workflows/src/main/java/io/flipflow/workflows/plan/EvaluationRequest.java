package io.flipflow.workflows.plan;

import io.flipflow.workflows.result.CheckpointRef;
import java.util.List;

/**
 * One zero-shot evaluation of one checkpoint.
 *
 * @param phase {@code pretrained}, {@code tuned}, or {@code adhoc} for one outside a pipeline
 * @param checkpoint the checkpoint to evaluate
 * @param evalSetUris evaluation sets (folders holding an {@code eval.json}); the first gives the
 *     headline top-1 and the masked-inference ablation
 * @param tokenizerUri the tokenizer the model was trained with; null for a checkpoint that carries
 *     its own (format 2)
 * @param modelPreset the preset the checkpoint must be of; null to take the checkpoint's
 * @param device {@code cpu}, {@code cuda}, {@code cuda:N}
 * @param seed seeds the masks of the masked-inference ablation
 * @param recordUnder the run whose record the results join ({@code eval_results.run_id}); null for
 *     the workflow that asks (the pipeline itself)
 * @param trainMaskRatio the mask ratio the run pretrained at: the masked-inference ablation (Table
 *     1d) masks each model at its own ratio, as the paper does; null or 0 for 0.5
 * @param heldOutOnly true: leave out the splits of seen concepts (a pretrained checkpoint that
 *     unmasked tuning follows, {@code RunSpec.evalBeforeTuning}), unless no other split is left;
 *     null or false: every set
 */
public record EvaluationRequest(
    String phase,
    CheckpointRef checkpoint,
    List<String> evalSetUris,
    String tokenizerUri,
    String modelPreset,
    String device,
    long seed,
    String recordUnder,
    Double trainMaskRatio,
    Boolean heldOutOnly) {
  /** Phase name of the evaluation right after masked pretraining. */
  public static final String PRETRAINED = "pretrained";

  /** Phase name of the evaluation after unmasked tuning. */
  public static final String TUNED = "tuned";

  public EvaluationRequest {
    evalSetUris = evalSetUris == null ? List.of() : List.copyOf(evalSetUris);
  }

  /** A request for every set (everything but the pipeline's evaluation before tuning). */
  public EvaluationRequest(
      String phase,
      CheckpointRef checkpoint,
      List<String> evalSetUris,
      String tokenizerUri,
      String modelPreset,
      String device,
      long seed,
      String recordUnder,
      Double trainMaskRatio) {
    this(
        phase,
        checkpoint,
        evalSetUris,
        tokenizerUri,
        modelPreset,
        device,
        seed,
        recordUnder,
        trainMaskRatio,
        null);
  }

  /** Whether the splits of seen concepts are left out (where another split remains). */
  public boolean leavesOutSeenSplits() {
    return Boolean.TRUE.equals(heldOutOnly);
  }
}
