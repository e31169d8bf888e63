/**
 * Models in and out of flipflow in OpenCLIP's format, the lingua franca of people who train CLIP
 * models: {@link io.flipflow.activities.interop.OpenClipExport} writes a checkpoint as an OpenCLIP
 * {@code local-dir:} folder (config, safetensors weights under OpenCLIP's names and layouts, HF
 * tokenizer files), {@link io.flipflow.activities.interop.OpenClipImport} reads one back into a
 * checkpoint a run can start from. {@link io.flipflow.activities.interop.OpenClipConfig} maps the
 * config (refusing what does not map exactly), {@link
 * io.flipflow.activities.interop.OpenClipWeights} the tensors, {@link
 * io.flipflow.activities.interop.HfTokenizerFiles} the tokenizer.
 *
 * <p>May import: {@code model}, {@code checkpoint}, {@code data.tokenizer}, {@code device}, Gson.
 * The CLI's export and import commands sit above it.
 */
package io.flipflow.activities.interop;
