// c10d for flipflow's data-parallel ranks: a TCPStore rendezvous (rank 0 serves it), a process
// group (Gloo on CPU; NCCL where this library was compiled against a CUDA libtorch), and bucketed
// collectives on DJL tensor handles. Every wait is bounded by the timeout given at creation, and
// every failure (a timeout, a peer gone) comes back as a Java exception with the C++ message.
#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef FLIPFLOW_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "jni_common.h"

namespace {

using Millis = std::chrono::milliseconds;

struct StoreBox {
  c10::intrusive_ptr<c10d::Store> store;
  std::string host;
  int port;
  int rank;
  int world;
  Millis timeout;
  int groups = 0;  // process groups made on this store so far: each gets its own key prefix
};

struct GroupBox {
  c10::intrusive_ptr<c10d::Backend> backend;
  std::string name;
  int rank;
  int world;
};

StoreBox& store_at(jlong h) {
  if (h == 0) {
    throw std::invalid_argument("store is closed");
  }
  return *reinterpret_cast<StoreBox*>(h);
}

GroupBox& group_at(jlong h) {
  if (h == 0) {
    throw std::invalid_argument("process group is closed");
  }
  return *reinterpret_cast<GroupBox*>(h);
}

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::string where(const GroupBox& g) {
  return g.name + " rank " + std::to_string(g.rank) + " of world size " + std::to_string(g.world);
}

// Waits for a collective, adding which one and which rank to the C++ message.
void wait_for(const c10::intrusive_ptr<c10d::Work>& work, const GroupBox& g, const char* what) {
  try {
    work->wait();
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string(what) + " failed on " + where(g) + ": " +
                             e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(what) + " failed on " + where(g) + ": " + e.what());
  }
}

// Consecutive tensors of one device and dtype, up to bucket_bytes each (a tensor larger than the
// limit gets a bucket of its own), as DDP buckets gradients.
std::vector<std::vector<at::Tensor>> buckets_of(const std::vector<at::Tensor>& tensors,
                                                int64_t bucket_bytes) {
  std::vector<std::vector<at::Tensor>> out;
  int64_t filled = 0;
  for (const auto& t : tensors) {
    const int64_t size = t.numel() * static_cast<int64_t>(t.element_size());
    bool fresh = out.empty() || filled + size > bucket_bytes ||
                 out.back()[0].device() != t.device() ||
                 out.back()[0].scalar_type() != t.scalar_type();
    if (fresh) {
      out.emplace_back();
      filled = 0;
    }
    out.back().push_back(t);
    filled += size;
  }
  return out;
}

// The bucket as one flat tensor: the tensor itself when it is alone and contiguous (the
// collective then writes into it), else a concatenated copy that unflatten() writes back.
at::Tensor flatten(const std::vector<at::Tensor>& bucket) {
  if (bucket.size() == 1 && bucket[0].is_contiguous()) {
    return bucket[0].view({-1});
  }
  std::vector<at::Tensor> flat;
  flat.reserve(bucket.size());
  for (const auto& t : bucket) {
    flat.push_back(t.reshape({-1}));
  }
  return at::cat(flat);
}

void unflatten(const at::Tensor& flat, std::vector<at::Tensor>& bucket) {
  if (bucket.size() == 1 && bucket[0].is_contiguous()) {
    return;  // the collective wrote in place
  }
  int64_t offset = 0;
  for (auto& t : bucket) {
    const int64_t n = t.numel();
    t.copy_(flat.narrow(0, offset, n).view(t.sizes()));
    offset += n;
  }
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& local_address) {
  if (!local_address.empty()) {
    return c10d::ProcessGroupGloo::createDeviceForHostname(local_address);
  }
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifname != nullptr && *ifname != '\0') {
    std::string first(ifname);
    first = first.substr(0, first.find(','));
    return c10d::ProcessGroupGloo::createDeviceForInterface(first);
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

extern "C" {

JNIEXPORT jlong JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_storeOpen(
    JNIEnv* env, jclass, jstring jhost, jint port, jint rank, jint world, jlong timeout_ms) {
  FF_TRY
  const std::string host = flipflow::string_of(env, jhost);
  if (world < 1 || rank < 0 || rank >= world) {
    throw std::invalid_argument("rank " + std::to_string(rank) + " is outside world size " +
                                std::to_string(world));
  }
  if (port < 0 || port > 65535 || (port == 0 && rank != 0)) {
    throw std::invalid_argument("rank " + std::to_string(rank) + ": bad store port " +
                                std::to_string(port) + " (only rank 0 may ask for port 0)");
  }
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(port);
  options.isServer = rank == 0;
  options.numWorkers = static_cast<std::size_t>(world);
  options.waitWorkers = false;  // arrivals are checked per rank in groupOpen, to name the absent
  options.timeout = Millis(timeout_ms);
  auto box = std::make_unique<StoreBox>();
  box->host = host;
  box->rank = rank;
  box->world = world;
  box->timeout = Millis(timeout_ms);
  try {
    auto store = c10::make_intrusive<c10d::TCPStore>(host, options);
    box->port = static_cast<int>(store->getPort());
    box->store = store;
  } catch (const c10::Error& e) {
    if (rank == 0) {
      throw std::runtime_error("rank 0 could not serve the rendezvous store on port " +
                               std::to_string(port) + ": " + e.what_without_backtrace());
    }
    throw std::runtime_error("rank " + std::to_string(rank) + " of world size " +
                             std::to_string(world) + " could not reach the rendezvous store at " +
                             host + ":" + std::to_string(port) + " (served by rank 0) within " +
                             std::to_string(timeout_ms) + " ms: " + e.what_without_backtrace());
  }
  return reinterpret_cast<jlong>(box.release());
  FF_CATCH(env, 0)
}

JNIEXPORT jint JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_storePort(
    JNIEnv* env, jclass, jlong h) {
  FF_TRY
  return store_at(h).port;
  FF_CATCH(env, -1)
}

JNIEXPORT void JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_storeSet(
    JNIEnv* env, jclass, jlong h, jstring jkey, jbyteArray jvalue) {
  FF_TRY
  std::vector<uint8_t> value(static_cast<size_t>(env->GetArrayLength(jvalue)));
  if (!value.empty()) {
    env->GetByteArrayRegion(jvalue, 0, static_cast<jsize>(value.size()),
                            reinterpret_cast<jbyte*>(value.data()));
  }
  flipflow::check_java(env);
  store_at(h).store->set("user/" + flipflow::string_of(env, jkey), value);
  FF_CATCH(env, )
}

JNIEXPORT jbyteArray JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_storeGet(
    JNIEnv* env, jclass, jlong h, jstring jkey) {
  FF_TRY
  StoreBox& box = store_at(h);
  const std::string key = flipflow::string_of(env, jkey);
  std::vector<uint8_t> value;
  try {
    box.store->wait({"user/" + key}, box.timeout);
    value = box.store->get("user/" + key);
  } catch (const c10::Error& e) {
    throw std::runtime_error("rank " + std::to_string(box.rank) + ": store key '" + key +
                             "' not set within " + std::to_string(box.timeout.count()) +
                             " ms: " + e.what_without_backtrace());
  }
  jbyteArray out = env->NewByteArray(static_cast<jsize>(value.size()));
  flipflow::check_java(env);
  if (!value.empty()) {
    env->SetByteArrayRegion(out, 0, static_cast<jsize>(value.size()),
                            reinterpret_cast<const jbyte*>(value.data()));
  }
  return out;
  FF_CATCH(env, nullptr)
}

JNIEXPORT void JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_storeClose(
    JNIEnv* env, jclass, jlong h) {
  FF_TRY
  delete reinterpret_cast<StoreBox*>(h);
  FF_CATCH(env, )
}

JNIEXPORT jlong JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_groupOpen(
    JNIEnv* env, jclass, jlong h, jint backend, jstring jlocal, jlong timeout_ms) {
  FF_TRY
  StoreBox& box = store_at(h);
  const std::string local = flipflow::string_of(env, jlocal);
  const Millis timeout(timeout_ms);
  const std::string name = "group " + std::to_string(box.groups);
  auto scoped = c10::make_intrusive<c10d::PrefixStore>("flipflow/pg" + std::to_string(box.groups),
                                                       box.store);
  box.groups++;

  // rendezvous: every rank marks its arrival, then waits for all the others
  scoped->set("arrived/" + std::to_string(box.rank), bytes("1"));
  std::vector<std::string> keys;
  for (int r = 0; r < box.world; r++) {
    keys.push_back("arrived/" + std::to_string(r));
  }
  try {
    scoped->wait(keys, timeout);
  } catch (const c10::Error& e) {
    std::ostringstream missing;
    int count = 0;
    for (int r = 0; r < box.world; r++) {
      if (!scoped->check({keys[r]})) {
        missing << (count++ == 0 ? "" : ", ") << r;
      }
    }
    if (count == 0) {
      throw;
    }
    throw std::runtime_error(
        "rendezvous at " + box.host + ":" + std::to_string(box.port) + " timed out after " +
        std::to_string(timeout_ms) + " ms on rank " + std::to_string(box.rank) + ": rank" +
        (count > 1 ? "s " : " ") + missing.str() + " of world size " +
        std::to_string(box.world) + " never arrived");
  }

  auto group = std::make_unique<GroupBox>();
  group->rank = box.rank;
  group->world = box.world;
  auto backend_store = c10::make_intrusive<c10d::PrefixStore>("backend", scoped);
  if (backend == 0) {
    group->name = "gloo " + name;
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(gloo_device(local));
    options->threads = 2;
    try {
      group->backend =
          c10::make_intrusive<c10d::ProcessGroupGloo>(backend_store, box.rank, box.world, options);
    } catch (const c10::Error& e) {
      throw std::runtime_error(where(*group) + ": connecting to the peers failed: " +
                               e.what_without_backtrace());
    }
  } else if (backend == 1) {
#ifdef FLIPFLOW_WITH_NCCL
    group->name = "nccl " + name;
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    group->backend =
        c10::make_intrusive<c10d::ProcessGroupNCCL>(backend_store, box.rank, box.world, options);
#else
    throw std::invalid_argument(
        "NCCL is not compiled into this libflipflow_torch.so (built against a CPU libtorch); "
        "rebuild it against a CUDA libtorch with NCCL headers, or use Gloo");
#endif
  } else {
    throw std::invalid_argument("unknown backend " + std::to_string(backend));
  }
  return reinterpret_cast<jlong>(group.release());
  FF_CATCH(env, 0)
}

JNIEXPORT void JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_groupAllReduce(
    JNIEnv* env, jclass, jlong h, jlongArray jtensors, jboolean from_params, jboolean average,
    jlong bucket_bytes) {
  FF_TRY
  GroupBox& g = group_at(h);
  auto tensors = flipflow::tensors_of(flipflow::longs(env, jtensors), from_params == JNI_TRUE);
  if (average == JNI_TRUE) {
    for (const auto& t : tensors) {
      if (!t.is_floating_point()) {
        throw std::invalid_argument("all-reduce mean needs floating-point tensors");
      }
    }
  }
  at::NoGradGuard no_grad;
  auto buckets = buckets_of(tensors, bucket_bytes);
  std::vector<at::Tensor> flats;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& bucket : buckets) {  // start every bucket, then wait: Gloo's threads overlap them
    std::vector<at::Tensor> one{flatten(bucket)};
    works.push_back(g.backend->allreduce(one));
    flats.push_back(one[0]);
  }
  for (size_t i = 0; i < buckets.size(); i++) {
    wait_for(works[i], g, "all-reduce");
    if (average == JNI_TRUE) {
      flats[i].div_(g.world);
    }
    unflatten(flats[i], buckets[i]);
  }
  FF_CATCH(env, )
}

JNIEXPORT jlong JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_groupAllGather(
    JNIEnv* env, jclass, jlong h, jlong jtensor) {
  FF_TRY
  GroupBox& g = group_at(h);
  at::NoGradGuard no_grad;
  at::Tensor input = flipflow::tensor_at(jtensor).contiguous();
  std::vector<int64_t> shape{g.world};
  for (auto s : input.sizes()) {
    shape.push_back(s);
  }
  at::Tensor out = at::empty(shape, input.options());
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < g.world; r++) {
    outputs[0].push_back(out.select(0, r));  // Gloo copies each rank's part into these views
  }
  std::vector<at::Tensor> inputs{input};
  wait_for(g.backend->allgather(outputs, inputs), g, "all-gather");
  return flipflow::new_handle(out);
  FF_CATCH(env, 0)
}

JNIEXPORT void JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_groupBroadcast(
    JNIEnv* env, jclass, jlong h, jlongArray jtensors, jboolean from_params, jint root,
    jlong bucket_bytes) {
  FF_TRY
  GroupBox& g = group_at(h);
  if (root < 0 || root >= g.world) {
    throw std::invalid_argument("broadcast root " + std::to_string(root) +
                                " is outside world size " + std::to_string(g.world));
  }
  auto tensors = flipflow::tensors_of(flipflow::longs(env, jtensors), from_params == JNI_TRUE);
  at::NoGradGuard no_grad;
  auto buckets = buckets_of(tensors, bucket_bytes);
  std::vector<at::Tensor> flats;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  c10d::BroadcastOptions options;
  options.rootRank = root;
  for (auto& bucket : buckets) {
    std::vector<at::Tensor> one{flatten(bucket)};
    works.push_back(g.backend->broadcast(one, options));
    flats.push_back(one[0]);
  }
  for (size_t i = 0; i < buckets.size(); i++) {
    wait_for(works[i], g, "broadcast");
    if (g.rank != root) {
      unflatten(flats[i], buckets[i]);
    }
  }
  FF_CATCH(env, )
}

JNIEXPORT void JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_groupBarrier(
    JNIEnv* env, jclass, jlong h) {
  FF_TRY
  GroupBox& g = group_at(h);
  wait_for(g.backend->barrier(), g, "barrier");
  FF_CATCH(env, )
}

JNIEXPORT void JNICALL Java_io_flipflow_activities_engine_NativeTorchJni_groupClose(
    JNIEnv* env, jclass, jlong h) {
  FF_TRY
  std::unique_ptr<GroupBox> group(reinterpret_cast<GroupBox*>(h));
  if (group && group->backend) {
    group->backend->shutdown();  // NCCL destroys its communicators; a no-op for Gloo
  }
  FF_CATCH(env, )
}

}  // extern "C"
