// Shared by the JNI sources of libflipflow_torch.so: handle access, array copies, and the rule that
// no C++ exception ever crosses into the JVM (it would abort it): every JNI function body runs
// inside FF_TRY ... FF_CATCH, which turns c10::Error and std::exception into a Java
// NativeTorchException carrying the C++ message.
#pragma once

#include <jni.h>
#include <ATen/ATen.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "io_flipflow_activities_engine_NativeTorchJni.h"

namespace flipflow {

inline void throw_java(JNIEnv* env, const std::string& message) {
  if (env->ExceptionCheck()) {
    return;  // a Java exception is already pending (from a JNI call): keep it
  }
  jclass cls = env->FindClass("io/flipflow/activities/engine/NativeTorchException");
  if (cls == nullptr) {
    env->ExceptionClear();
    cls = env->FindClass("java/lang/RuntimeException");
  }
  env->ThrowNew(cls, message.c_str());
}

// A Java exception raised by a JNI helper (e.g. an out-of-memory on array access): unwinds the C++
// frames, then FF_CATCH returns with the Java exception still pending.
struct PendingJavaException {};

inline void check_java(JNIEnv* env) {
  if (env->ExceptionCheck()) {
    throw PendingJavaException{};
  }
}

inline at::Tensor& tensor_at(jlong handle) {
  if (handle == 0) {
    throw std::invalid_argument("null tensor handle");
  }
  return *reinterpret_cast<at::Tensor*>(handle);
}

// A new handle for DJL: a heap at::Tensor that PtNDArray frees with delete.
inline jlong new_handle(const at::Tensor& t) {
  return reinterpret_cast<jlong>(new at::Tensor(t));
}

inline std::vector<jlong> longs(JNIEnv* env, jlongArray array) {
  if (array == nullptr) {
    return {};
  }
  std::vector<jlong> out(static_cast<size_t>(env->GetArrayLength(array)));
  if (!out.empty()) {
    env->GetLongArrayRegion(array, 0, static_cast<jsize>(out.size()), out.data());
  }
  check_java(env);
  return out;
}

inline std::vector<jint> ints(JNIEnv* env, jintArray array) {
  std::vector<jint> out(static_cast<size_t>(env->GetArrayLength(array)));
  if (!out.empty()) {
    env->GetIntArrayRegion(array, 0, static_cast<jsize>(out.size()), out.data());
  }
  check_java(env);
  return out;
}

inline std::vector<jdouble> doubles(JNIEnv* env, jdoubleArray array) {
  std::vector<jdouble> out(static_cast<size_t>(env->GetArrayLength(array)));
  if (!out.empty()) {
    env->GetDoubleArrayRegion(array, 0, static_cast<jsize>(out.size()), out.data());
  }
  check_java(env);
  return out;
}

inline std::string string_of(JNIEnv* env, jstring s) {
  if (s == nullptr) {
    return {};
  }
  const char* chars = env->GetStringUTFChars(s, nullptr);
  check_java(env);
  std::string out(chars);
  env->ReleaseStringUTFChars(s, chars);
  return out;
}

// The tensors behind handles; with grads, each tensor's .grad() instead (which must exist).
inline std::vector<at::Tensor> tensors_of(const std::vector<jlong>& handles, bool grads) {
  std::vector<at::Tensor> out;
  out.reserve(handles.size());
  for (size_t i = 0; i < handles.size(); i++) {
    const at::Tensor& t = tensor_at(handles[i]);
    if (grads) {
      const at::Tensor& g = t.grad();
      if (!g.defined()) {
        throw std::invalid_argument("parameter " + std::to_string(i) + " of " +
                                    std::to_string(handles.size()) +
                                    " has no gradient (was backward run on it?)");
      }
      out.push_back(g);
    } else {
      out.push_back(t);
    }
  }
  return out;
}

inline at::ScalarType dtype_of_code(jint code) {
  switch (code) {
    case 0:
      return at::kFloat;
    case 1:
      return at::kHalf;
    case 2:
      return at::kBFloat16;
    case 3:
      return at::kDouble;
    default:
      throw std::invalid_argument("unknown dtype code " + std::to_string(code));
  }
}

inline jint code_of_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat:
      return 0;
    case at::kHalf:
      return 1;
    case at::kBFloat16:
      return 2;
    case at::kDouble:
      return 3;
    default:
      return -1;
  }
}

inline c10::DeviceType device_type_of_code(jint code) {
  switch (code) {
    case 0:
      return c10::DeviceType::CPU;
    case 1:
      return c10::DeviceType::CUDA;
    default:
      throw std::invalid_argument("unknown device type code " + std::to_string(code));
  }
}

}  // namespace flipflow

#define FF_TRY try {
#define FF_CATCH(env, fallback)                                  \
  }                                                              \
  catch (const flipflow::PendingJavaException&) {                \
    return fallback;                                             \
  }                                                              \
  catch (const c10::Error& e) {                                  \
    flipflow::throw_java(env, e.what_without_backtrace());       \
    return fallback;                                             \
  }                                                              \
  catch (const std::exception& e) {                              \
    flipflow::throw_java(env, e.what());                         \
    return fallback;                                             \
  }                                                              \
  catch (...) {                                                  \
    flipflow::throw_java(env, "unknown C++ exception in libflipflow_torch"); \
    return fallback;                                             \
  }
