#!/usr/bin/env bash
# The GPU check: one prepared run on a bare CUDA machine (run infra/deploy/gpu/prepare.sh first
# and carry .gpu/). Finds the machine's libtorch, loads DJL's PyTorch engine on it, and runs the
# masking benchmark on the GPU: tiny-emoji (64 px) and ViT-B/16 (224 px), mask 0 / 0.5 / 0.75,
# printing step times, samples/s and the ratios. Everything goes to ${OUT:-.}/gpu-check.log.
set -uo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
out="${OUT:-$root}"
log="$out/gpu-check.log"
exec > >(tee "$log") 2>&1
cd "$root"
export PYTHONWARNINGS=ignore  # torch's numpy warning on machines without numpy
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
python3 - <<'PY' || true
import torch, os
print("machine torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available())
PY
torch_dir="$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')" \
  || { echo "python3 cannot import torch: this check uses the machine's own PyTorch"; exit 3; }
libdir="${PYTORCH_LIBRARY_PATH:-$torch_dir/lib}"
echo "libtorch folder: $libdir"
mkdir -p /tmp/flipflow-gpu && tar -C /tmp/flipflow-gpu -xzf .gpu/jre.tgz
java=/tmp/flipflow-gpu/jre/bin/java
cp="$(ls .gpu/lib/*.jar | tr '\n' ':')"
export PYTORCH_LIBRARY_PATH="$libdir" DJL_CACHE_DIR=/tmp/flipflow-gpu/djl OMP_WAIT_POLICY=PASSIVE
if [ -f .gpu/jni/libdjl_torch.so ]; then
  # DJL's JNI rebuilt for this machine's libtorch (build-jni.sh): it only works with the exact torch
  # version it was compiled against, so refuse anything else rather than fail op by op.
  torch_version="$(python3 -c 'import torch; print(torch.__version__.split("+")[0])')"
  jni_version="$(cat .gpu/jni/torch-version)"
  if [ "$torch_version" != "$jni_version" ]; then
    echo "REFUSED: the machine's torch is $torch_version but .gpu/jni/libdjl_torch.so was built for $jni_version;"
    echo "rebuild it against this torch (infra/deploy/gpu/README.md) and rerun prepare.sh"
    exit 3
  fi
  # cu<version> only where torch sees a GPU: that flavor makes DJL load libcaffe2_nvrtc, which needs
  # the driver's libcuda.so.1 (absent on a CPU-only machine, where "cpu" runs the same JNI)
  cuda="$(python3 -c 'import torch; print((torch.version.cuda or "").replace(".", "") if torch.cuda.is_available() else "")')"
  # the flavor names DJL's cache folder; one starting with "cu" also makes DJL load libtorch_cuda
  flavor="${PYTORCH_FLAVOR:-$([ -n "$cuda" ] && echo "cu$cuda" || echo cpu)}"
  # DJL looks for <ENGINE_CACHE_DIR>/pytorch/<version>-<flavor>-<classifier>/<djl version>-libdjl_torch.so
  # before anything else; finding it there it never downloads
  export ENGINE_CACHE_DIR=/tmp/flipflow-gpu/engines PYTORCH_VERSION="$torch_version" PYTORCH_FLAVOR="$flavor"
  jni_dir="$ENGINE_CACHE_DIR/pytorch/$torch_version-$flavor-linux-x86_64"
  mkdir -p "$jni_dir" && cp .gpu/jni/libdjl_torch.so "$jni_dir/0.36.0-libdjl_torch.so"
  echo "DJL JNI: rebuilt for torch $jni_version, flavor $flavor ($jni_dir)"
else
  # the published JNI (pytorch-jni 2.7.1-0.36.0): works only where the machine's libtorch is 2.7.1
  export PYTORCH_FLAVOR="${PYTORCH_FLAVOR:-cu128}"
  echo "DJL JNI: published 2.7.1 build, flavor $PYTORCH_FLAVOR"
fi
run() {
  echo "== $*"
  timeout "${STEP_TIMEOUT:-200}" "$java" -Dai.djl.offline=true -Xmx8g -cp "$cp" "$@"
  echo "== exit $?"
}
# 1. does DJL's JNI load this machine's libtorch, and see the GPU?
run io.flipflow.infra.bench.DeviceCheck
# 2. the masking benchmark on cuda:0: tiny and ViT-B/16 at batch 64, 3 x 100 alternating steps each,
#    and ViT-B/16 at batch 256 (3 x 30), where the GPU is busy enough for masking to pay
run io.flipflow.infra.bench.MaskingBenchmark tiny-emoji 256 100 0,0.5,0.75 cuda:0
run io.flipflow.infra.bench.MaskingBenchmark vit-b-16 64 100 0,0.5,0.75 cuda:0
run io.flipflow.infra.bench.MaskingBenchmark vit-b-16 256 30 0,0.5,0.75 cuda:0
