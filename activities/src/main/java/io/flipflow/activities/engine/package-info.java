/**
 * flipflow's own native extension of the PyTorch engine ({@code libflipflow_torch.so}, built from
 * {@code activities/src/main/native}): what DJL 0.36's JNI does not reach in the libtorch it loads.
 * Autocast (bf16/fp16) and the TF32 switch, autograd-keeping casts, {@code
 * scaled_dot_product_attention}, a multi-tensor AdamW step, and c10d (TCPStore rendezvous, Gloo or
 * NCCL process groups, bucketed collectives). {@link io.flipflow.activities.engine.NativeTorch} is
 * the entry point; where the library is missing it says why once and callers fall back.
 *
 * <p>May import: DJL's NDArray, engine and PyTorch engine classes, slf4j; nothing else of
 * flipflow's.
 */
package io.flipflow.activities.engine;
