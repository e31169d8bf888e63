#!/usr/bin/env bash
# Builds DJL's PyTorch JNI library (libdjl_torch.so) against a given libtorch, so that DJL 0.36's Java
# runs on a libtorch other than the 2.7.1 its published JNI was compiled for (the JNI inlines libtorch
# headers: a JNI built for 2.7.1 loads 2.11 but every tensor op then fails).
#
#   DJL_NATIVE_SRC=<dir> TORCH_DIR=<site-packages/torch or libtorch> bash build-jni.sh [out.so]
#
# DJL_NATIVE_SRC: DJL's native sources adapted to the target libtorch: *.cc/*.h in <dir>/src and DJL's
#   api/src/main/native/djl/utils.h as <dir>/include/djl/utils.h (see README.md: where they come from and
#   which changes libtorch 2.11 needs). They are not part of this repository.
# TORCH_DIR: the folder with include/ and lib/ (a pip torch: python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))').
# Links only libtorch, libtorch_cpu and libc10: CUDA kernels are reached through the dispatcher once the
# machine's libtorch_cuda is loaded (DJL loads it when PYTORCH_FLAVOR starts with "cu").
set -euo pipefail
src="${DJL_NATIVE_SRC:?set DJL_NATIVE_SRC to the adapted DJL native sources (src/, include/)}"
torch="${TORCH_DIR:?set TORCH_DIR to the torch folder holding include/ and lib/}"
out="${1:-$PWD/libdjl_torch.so}"
java_home="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
[ -f "$torch/include/torch/script.h" ] || { echo "no libtorch headers under $torch/include" >&2; exit 2; }
[ -f "$torch/lib/libtorch_cpu.so" ] || { echo "no libtorch_cpu.so under $torch/lib" >&2; exit 2; }
header="$src/src/ai_djl_pytorch_jni_PyTorchLibrary.h"
if [ ! -f "$header" ]; then
  # the exact native methods DJL 0.36's Java declares: javac -h on its PyTorchLibrary.java
  m2="${M2_REPO:-$HOME/.m2/repository}"
  engine_src="$m2/ai/djl/pytorch/pytorch-engine/0.36.0/pytorch-engine-0.36.0-sources.jar"
  api_jar="$m2/ai/djl/api/0.36.0/api-0.36.0.jar"
  [ -f "$engine_src" ] || { echo "no $header and no $engine_src to generate it (mvn dependency:sources)" >&2; exit 2; }
  gen="$(mktemp -d)"
  (cd "$gen" && unzip -q "$engine_src" 'ai/djl/pytorch/jni/*' && javac -h "$src/src" -d classes -cp "$api_jar" ai/djl/pytorch/jni/PyTorchLibrary.java)
  rm -rf "$gen"
fi
# the C++ ABI of the target libtorch (pip wheels since 2.7 use the new one)
# (count, not grep -q: an early grep exit fails the pipeline under pipefail)
cxx11_symbols="$(nm -D "$torch/lib/libc10.so" | grep -c '__cxx11' || true)"
abi=$([ "${cxx11_symbols:-0}" -gt 0 ] && echo 1 || echo 0)
obj="$(mktemp -d)"
trap 'rm -rf "$obj"' EXIT
flags=(-std=c++17 -O2 -fPIC -D_GLIBCXX_USE_CXX11_ABI=$abi -w
  -I"$src/src" -I"$src/include" -I"$torch/include" -I"$torch/include/torch/csrc/api/include"
  -I"$java_home/include" -I"$java_home/include/linux")
jobs="${JOBS:-2}"
for f in "$src"/src/*.cc; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  echo "compiling $(basename "$f")"
  g++ "${flags[@]}" -c "$f" -o "$obj/$(basename "$f" .cc).o" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n; done
[ "$(ls "$obj"/*.o | wc -l)" -eq "$(ls "$src"/src/*.cc | wc -l)" ] || { echo "some sources failed to compile" >&2; exit 1; }
# rpath $ORIGIN only: DJL loads libtorch itself (System.load) before the JNI, from PYTORCH_LIBRARY_PATH
g++ -shared -o "$out" "$obj"/*.o -L"$torch/lib" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 -Wl,-rpath,'$ORIGIN'
# every native method DJL's Java declares must be defined, or it fails at call time (UnsatisfiedLinkError)
missing="$(comm -23 <(grep -o 'Java_ai_djl_pytorch_jni_PyTorchLibrary_[A-Za-z0-9_]*' "$header" | sort -u) \
  <(nm -D --defined-only "$out" | awk '{print $3}' | grep '^Java_' | sort -u))"
if [ -n "$missing" ]; then echo "JNI functions missing from $out:" >&2; echo "$missing" >&2; exit 1; fi
# every libtorch symbol the JNI calls must resolve (a wrong C++ ABI or header set shows up here, not at run time)
undefined="$(LD_LIBRARY_PATH="$torch/lib" ldd -r "$out" 2>&1 | grep 'undefined symbol' | grep -v 'JNI_\|jni_\|JVM_' || true)"
if [ -n "$undefined" ]; then echo "unresolved libtorch symbols in $out:" >&2; echo "$undefined" | head -20 >&2; exit 1; fi
# the torch version the JNI is bound to, for prepare.sh and gpu-check.sh's refusal on a mismatch
torch_version="$(sed -n "s/^__version__ = '\([0-9.]*\).*/\1/p" "$torch/version.py" 2>/dev/null || true)"
[ -n "$torch_version" ] && echo "$torch_version" > "$out.torch-version"
echo "built $out ($(du -h "$out" | cut -f1)), abi=$abi, torch ${torch_version:-unknown}, all $(grep -c 'JNIEXPORT' "$header") JNI functions defined"
