// Tensor-level features DJL 0.36's JNI does not expose: autograd-preserving casts (bfloat16
// included), thread-local autocast, the TF32 switch, scaled_dot_product_attention, and the
// optimizer's multi-tensor kernels (fused/foreach AdamW, global-norm clipping, AMP unscaling).
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "jni_common.h"

using flipflow::tensor_at;

extern "C" {

JNIEXPORT jstring JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_torchVersion(
    JNIEnv* env, jclass) {
  return env->NewStringUTF(TORCH_VERSION);
}

JNIEXPORT jboolean JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_ncclCompiled(
    JNIEnv*, jclass) {
#ifdef FLIPFLOW_WITH_NCCL
  return JNI_TRUE;
#else
  return JNI_FALSE;
#endif
}

JNIEXPORT void JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_deleteTensor(
    JNIEnv* env, jclass, jlong handle) {
  FF_TRY
  delete reinterpret_cast<at::Tensor*>(handle);
  FF_CATCH(env, )
}

JNIEXPORT jstring JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_scalarTypeName(
    JNIEnv* env, jclass, jlong handle) {
  FF_TRY
  return env->NewStringUTF(c10::toString(tensor_at(handle).scalar_type()));
  FF_CATCH(env, nullptr)
}

JNIEXPORT jlong JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_cast(
    JNIEnv* env, jclass, jlong handle, jint dtype) {
  FF_TRY
  // no NoGradGuard: the result keeps a grad_fn (ToCopyBackward) when the input requires grad
  return flipflow::new_handle(tensor_at(handle).to(flipflow::dtype_of_code(dtype)));
  FF_CATCH(env, 0)
}

// ---- autocast: thread-local state, mirrored on Python's torch.autocast ----

JNIEXPORT jboolean JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_autocastEnabled(
    JNIEnv* env, jclass, jint device) {
  FF_TRY
  return at::autocast::is_autocast_enabled(flipflow::device_type_of_code(device)) ? JNI_TRUE
                                                                                    : JNI_FALSE;
  FF_CATCH(env, JNI_FALSE)
}

JNIEXPORT jint JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_autocastDtype(
    JNIEnv* env, jclass, jint device) {
  FF_TRY
  return flipflow::code_of_dtype(at::autocast::get_autocast_dtype(flipflow::device_type_of_code(device)));
  FF_CATCH(env, -1)
}

JNIEXPORT jboolean JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_autocastCacheEnabled(
    JNIEnv* env, jclass) {
  FF_TRY
  return at::autocast::is_autocast_cache_enabled() ? JNI_TRUE : JNI_FALSE;
  FF_CATCH(env, JNI_FALSE)
}

JNIEXPORT jint JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_autocastEnter(
    JNIEnv* env, jclass, jint device, jint dtype, jboolean cache) {
  FF_TRY
  const auto type = flipflow::device_type_of_code(device);
  const auto scalar = flipflow::dtype_of_code(dtype);
  if (scalar != at::kBFloat16 && scalar != at::kHalf) {
    throw std::invalid_argument("autocast runs in bfloat16 or float16, not " +
                                std::string(c10::toString(scalar)));
  }
  // torch.autocast.__enter__: enabled, dtype, cache, then increment_nesting
  at::autocast::set_autocast_enabled(type, true);
  at::autocast::set_autocast_dtype(type, scalar);
  at::autocast::set_autocast_cache_enabled(cache == JNI_TRUE);
  return at::autocast::increment_nesting();
  FF_CATCH(env, -1)
}

JNIEXPORT jint JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_autocastExit(
    JNIEnv* env, jclass, jint device, jboolean prev_enabled, jint prev_dtype, jboolean prev_cache) {
  FF_TRY
  const auto type = flipflow::device_type_of_code(device);
  // torch.autocast.__exit__: drop the cast cache when the outermost region ends, then restore
  const int nesting = at::autocast::decrement_nesting();
  if (nesting == 0) {
    at::autocast::clear_cache();
  }
  at::autocast::set_autocast_enabled(type, prev_enabled == JNI_TRUE);
  if (prev_dtype >= 0) {
    at::autocast::set_autocast_dtype(type, flipflow::dtype_of_code(prev_dtype));
  }
  at::autocast::set_autocast_cache_enabled(prev_cache == JNI_TRUE);
  return nesting;
  FF_CATCH(env, -1)
}

// ---- TF32: process-wide flags read by the CUDA matmul and convolution kernels ----

JNIEXPORT void JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_setAllowTf32(
    JNIEnv* env, jclass, jboolean cublas, jboolean cudnn) {
  FF_TRY
  at::globalContext().setAllowTF32CuBLAS(cublas == JNI_TRUE);
  at::globalContext().setAllowTF32CuDNN(cudnn == JNI_TRUE);
  FF_CATCH(env, )
}

JNIEXPORT jboolean JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_allowTf32CuBlas(
    JNIEnv* env, jclass) {
  FF_TRY
  return at::globalContext().allowTF32CuBLAS() ? JNI_TRUE : JNI_FALSE;
  FF_CATCH(env, JNI_FALSE)
}

JNIEXPORT jboolean JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_allowTf32CuDnn(
    JNIEnv* env, jclass) {
  FF_TRY
  return at::globalContext().allowTF32CuDNN() ? JNI_TRUE : JNI_FALSE;
  FF_CATCH(env, JNI_FALSE)
}

// ---- attention ----

JNIEXPORT jlong JNICALL
Java_io_flipflow_activities_engine_NativeTorchJni_scaledDotProductAttention(
    JNIEnv* env, jclass, jlong q, jlong k, jlong v, jlong mask, jboolean causal, jdouble scale) {
  FF_TRY
  std::optional<at::Tensor> attn_mask;
  if (mask != 0) {
    attn_mask = tensor_at(mask);
  }
  std::optional<double> s;
  if (!std::isnan(scale)) {
    s = scale;
  }
  // runs in the caller's grad mode: inside DJL's GradientCollector the result has a grad_fn
  at::Tensor out = at::scaled_dot_product_attention(tensor_at(q), tensor_at(k), tensor_at(v),
                                                    attn_mask, 0.0, causal == JNI_TRUE, s);
  return flipflow::new_handle(out);
  FF_CATCH(env, 0)
}

// ---- optimizer ----

namespace {

void check_group(const std::vector<at::Tensor>& p, const std::vector<at::Tensor>& g,
                 const std::vector<at::Tensor>& m, const std::vector<at::Tensor>& v, size_t group) {
  const std::string where = "AdamW group " + std::to_string(group) + ": ";
  if (g.size() != p.size() || m.size() != p.size() || v.size() != p.size()) {
    throw std::invalid_argument(where + "parameters, gradients and moments differ in count");
  }
  for (size_t i = 0; i < p.size(); i++) {
    if (!p[i].is_floating_point()) {
      throw std::invalid_argument(where + "parameter " + std::to_string(i) + " is not floating point");
    }
    if (!g[i].sizes().equals(p[i].sizes()) || !m[i].sizes().equals(p[i].sizes()) ||
        !v[i].sizes().equals(p[i].sizes())) {
      throw std::invalid_argument(where + "tensor " + std::to_string(i) +
                                  ": gradient or moment shape differs from the parameter's");
    }
  }
}

// _fused_adamw_ runs where every tensor of the group is on one CPU or CUDA device with one dtype.
bool fusable(const std::vector<at::Tensor>& p, const std::vector<at::Tensor>& g,
             const std::vector<at::Tensor>& m, const std::vector<at::Tensor>& v) {
  if (p.empty()) {
    return false;
  }
  const auto device = p[0].device();
  const auto dtype = p[0].scalar_type();
  if (device.type() != c10::DeviceType::CPU && device.type() != c10::DeviceType::CUDA) {
    return false;
  }
  for (const auto* list : {&p, &g, &m, &v}) {
    for (const auto& t : *list) {
      if (t.device() != device || t.scalar_type() != dtype || t.is_sparse()) {
        return false;
      }
    }
  }
  return true;
}

// The textbook (torch.optim.AdamW, foreach) update:
//   p *= 1 - lr*wd;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
void foreach_adamw(std::vector<at::Tensor>& p, std::vector<at::Tensor>& g,
                   std::vector<at::Tensor>& m, std::vector<at::Tensor>& v, double lr, double b1,
                   double b2, double eps, double wd, int64_t step) {
  if (p.empty()) {
    return;
  }
  const double bc1 = 1.0 - std::pow(b1, static_cast<double>(step));
  const double bc2_sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(step)));
  if (wd != 0.0) {
    at::_foreach_mul_(p, at::Scalar(1.0 - lr * wd));
  }
  at::_foreach_lerp_(m, g, at::Scalar(1.0 - b1));
  at::_foreach_mul_(v, at::Scalar(b2));
  at::_foreach_addcmul_(v, g, g, at::Scalar(1.0 - b2));
  std::vector<at::Tensor> denom = at::_foreach_sqrt(v);
  at::_foreach_div_(denom, at::Scalar(bc2_sqrt));
  at::_foreach_add_(denom, at::Scalar(eps));
  at::_foreach_addcdiv_(p, m, denom, at::Scalar(-lr / bc1));
}

}  // namespace

JNIEXPORT jint JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_adamW(
    JNIEnv* env, jclass, jintArray jsizes, jlongArray jparams, jlongArray jgrads,
    jlongArray jexp_avg, jlongArray jexp_avg_sq, jdoubleArray jhyper, jlong step, jint kernel,
    jboolean zero_grads) {
  FF_TRY
  const auto sizes = flipflow::ints(env, jsizes);
  const auto params_h = flipflow::longs(env, jparams);
  const bool own_grads = jgrads == nullptr;
  const auto grads_h = own_grads ? params_h : flipflow::longs(env, jgrads);
  const auto m_h = flipflow::longs(env, jexp_avg);
  const auto v_h = flipflow::longs(env, jexp_avg_sq);
  const auto hyper = flipflow::doubles(env, jhyper);
  if (hyper.size() != 5 * sizes.size()) {
    throw std::invalid_argument("AdamW: 5 hyper-parameters per group expected");
  }
  if (step < 1) {
    throw std::invalid_argument("AdamW: step counts from 1, got " + std::to_string(step));
  }
  if (kernel < 0 || kernel > 2) {
    throw std::invalid_argument("AdamW: unknown kernel " + std::to_string(kernel));
  }
  // parameters are autograd leaves: update them as torch.optim does, outside grad mode
  at::NoGradGuard no_grad;
  bool all_fused = true;
  size_t offset = 0;
  for (size_t group = 0; group < sizes.size(); group++) {
    const size_t n = static_cast<size_t>(sizes[group]);
    if (offset + n > params_h.size()) {
      throw std::invalid_argument("AdamW: group sizes exceed the tensor count");
    }
    auto slice = [&](const std::vector<jlong>& h) {
      return std::vector<jlong>(h.begin() + offset, h.begin() + offset + n);
    };
    auto p = flipflow::tensors_of(slice(params_h), false);
    auto g = flipflow::tensors_of(slice(grads_h), own_grads);
    auto m = flipflow::tensors_of(slice(m_h), false);
    auto v = flipflow::tensors_of(slice(v_h), false);
    check_group(p, g, m, v, group);
    const double lr = hyper[5 * group], b1 = hyper[5 * group + 1], b2 = hyper[5 * group + 2],
                 eps = hyper[5 * group + 3], wd = hyper[5 * group + 4];
    const bool can_fuse = fusable(p, g, m, v);
    if (kernel == 1 && !can_fuse && !p.empty()) {
      throw std::invalid_argument("AdamW group " + std::to_string(group) +
                                  ": the fused kernel needs every tensor on one CPU or CUDA "
                                  "device with one dtype");
    }
    if (can_fuse && kernel != 2) {
      // one step tensor shared by the group: the kernel only reads it
      at::Tensor t = at::full({}, static_cast<double>(step),
                              at::TensorOptions().dtype(at::kFloat).device(p[0].device()));
      std::vector<at::Tensor> steps(n, t);
      at::_fused_adamw_(p, g, m, v, {}, steps, lr, b1, b2, wd, eps, /*amsgrad=*/false,
                        /*maximize=*/false);
    } else {
      if (!p.empty()) {
        all_fused = false;
      }
      foreach_adamw(p, g, m, v, lr, b1, b2, eps, wd, step);
    }
    if (zero_grads == JNI_TRUE) {
      at::_foreach_zero_(g);
    }
    offset += n;
  }
  if (offset != params_h.size() || m_h.size() != params_h.size() || v_h.size() != params_h.size() ||
      grads_h.size() != params_h.size()) {
    throw std::invalid_argument("AdamW: group sizes do not add up to the tensor counts");
  }
  return all_fused ? 1 : 2;
  FF_CATCH(env, -1)
}

JNIEXPORT jdouble JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_clipGradientNorm(
    JNIEnv* env, jclass, jlongArray jparams, jdouble max_norm) {
  FF_TRY
  auto grads = flipflow::tensors_of(flipflow::longs(env, jparams), true);
  if (grads.empty()) {
    return 0.0;
  }
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> norms = at::_foreach_norm(grads, 2);
  for (auto& n : norms) {
    n = n.to(at::kDouble).to(at::kCPU);
  }
  const double total = at::stack(norms).norm().item<double>();
  if (max_norm > 0 && total > max_norm) {
    at::_foreach_mul_(grads, at::Scalar(max_norm / (total + 1e-6)));
  }
  return total;
  FF_CATCH(env, 0.0)
}

JNIEXPORT jboolean JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_unscaleGradients(
    JNIEnv* env, jclass, jlongArray jparams, jdouble inverse_scale) {
  FF_TRY
  auto grads = flipflow::tensors_of(flipflow::longs(env, jparams), true);
  if (grads.empty()) {
    return JNI_FALSE;
  }
  at::NoGradGuard no_grad;
  const auto options = at::TensorOptions().dtype(at::kFloat).device(grads[0].device());
  at::Tensor found_inf = at::zeros({1}, options);
  at::Tensor inv = at::full({1}, inverse_scale, options);
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv);
  return found_inf.item<float>() != 0.0f ? JNI_TRUE : JNI_FALSE;
  FF_CATCH(env, JNI_FALSE)
}

// after an fp16 step skipped for an overflow: the inf/NaN gradients must not reach the next one
JNIEXPORT void JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_zeroGradients(
    JNIEnv* env, jclass, jlongArray jparams) {
  FF_TRY
  auto grads = flipflow::tensors_of(flipflow::longs(env, jparams), true);
  if (grads.empty()) {
    return;
  }
  at::NoGradGuard no_grad;
  at::_foreach_zero_(grads);
  FF_CATCH(env, )
}

// an order-free checksum of tensors' exact bits: integer sums do not depend on how a reduction is
// split over threads, so ranks with other thread counts agree exactly on identical weights
JNIEXPORT jlong JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_bitChecksum(
    JNIEnv* env, jclass, jlongArray jtensors) {
  FF_TRY
  auto tensors = flipflow::tensors_of(flipflow::longs(env, jtensors), false);
  at::NoGradGuard no_grad;
  uint64_t total = 0;
  for (size_t i = 0; i < tensors.size(); i++) {
    at::Tensor t = tensors[i].detach().contiguous();
    if (t.element_size() != 4) {
      throw std::invalid_argument("bitChecksum: tensor " + std::to_string(i) +
                                  " is not a 4-byte type but " +
                                  std::string(c10::toString(t.scalar_type())));
    }
    const int64_t sum = t.view(at::kInt).to(at::kLong).sum().item<int64_t>();
    total += static_cast<uint64_t>(i + 1) * static_cast<uint64_t>(sum);  // wraps, by design
  }
  return static_cast<jlong>(total);
  FF_CATCH(env, 0)
}

}  // extern "C"
