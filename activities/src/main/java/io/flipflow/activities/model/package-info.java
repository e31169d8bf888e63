/**
 * The model, as the paper describes it: a ViT image tower that sees only a random subset of its
 * patches ({@link io.flipflow.activities.model.PatchMasking}), a transformer text tower, both
 * meeting in L2-normalised embeddings ({@link io.flipflow.activities.model.ClipModel}), and the
 * symmetric InfoNCE with a learnable temperature ({@link io.flipflow.activities.model.ClipLoss}).
 * Model shapes are data ({@link io.flipflow.activities.model.ModelPreset}, {@code config/models/});
 * every check of a run against its preset is {@link io.flipflow.activities.model.PresetChecks},
 * which the control worker runs without libtorch.
 *
 * <p>May import: DJL, Gson, the workflows' spec/plan/result records (for the preset checks), and
 * the native {@code engine} package (autocast and fused attention, used only when a run asks for
 * them). Nothing else of flipflow's: training, checkpoints and evaluation build on this package.
 */
package io.flipflow.activities.model;
