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
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
python3 - <<'PY' || true
import torch, os
print("machine torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available())
PY
libdir="${PYTORCH_LIBRARY_PATH:-$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')}"
echo "libtorch folder: $libdir"
mkdir -p /tmp/flipflow-gpu && tar -C /tmp/flipflow-gpu -xzf .gpu/jre.tgz
java=/tmp/flipflow-gpu/jre/bin/java
cp="$(ls .gpu/lib/*.jar | tr '\n' ':')"
export PYTORCH_LIBRARY_PATH="$libdir" PYTORCH_FLAVOR="${PYTORCH_FLAVOR:-cu128}" DJL_CACHE_DIR=/tmp/flipflow-gpu/djl OMP_WAIT_POLICY=PASSIVE
run() {
  echo "== $*"
  timeout "${STEP_TIMEOUT:-200}" "$java" -Dai.djl.offline=true -Xmx8g -cp "$cp" "$@"
  echo "== exit $?"
}
# 1. does DJL 0.36's JNI (built for libtorch 2.7.1) load this machine's libtorch, and see the GPU?
run io.flipflow.activities.train.DeviceCheck
# 2. the masking benchmark on the GPU: tiny (3 x 100 steps) and ViT-B/16 (3 x 20 steps)
run io.flipflow.activities.train.MaskingBenchmark tiny-emoji 256 100
run io.flipflow.activities.train.MaskingBenchmark vit-b-16 64 20
