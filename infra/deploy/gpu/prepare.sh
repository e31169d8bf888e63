#!/usr/bin/env bash
# Packs what the GPU check needs into .gpu/ (git-ignored) so it travels with the tree to a bare
# CUDA machine with no network and no Java: a jlink'ed Java 17 runtime (~32 MB packed), DJL's API,
# PyTorch engine and JNI jars, and flipflow's workflows, activities and infra classes (the checks are infra's bench package). libtorch itself is NOT carried
# (gigabytes): the check uses the machine's own (PyTorch's lib folder) via PYTORCH_LIBRARY_PATH.
#
# FLIPFLOW_DJL_JNI=<libdjl_torch.so built by build-jni.sh> also packs DJL's JNI rebuilt for the
# machine's libtorch (e.g. pip's torch 2.11) into .gpu/jni/, with the torch version it was built for
# (from <so>.torch-version, written by build-jni.sh, or FLIPFLOW_DJL_JNI_TORCH_VERSION); gpu-check.sh
# then uses it instead of the published JNI, which only works with libtorch 2.7.1.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
out="$root/.gpu"
jni="${FLIPFLOW_DJL_JNI:-}"
if [ -n "$jni" ]; then
  [ -f "$jni" ] || { echo "FLIPFLOW_DJL_JNI=$jni: no such file" >&2; exit 2; }
  jni_torch="${FLIPFLOW_DJL_JNI_TORCH_VERSION:-$(cat "$jni.torch-version" 2>/dev/null || true)}"
  [[ "$jni_torch" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
    || { echo "FLIPFLOW_DJL_JNI: torch version it was built for unknown (got '$jni_torch'); set FLIPFLOW_DJL_JNI_TORCH_VERSION=X.Y.Z" >&2; exit 2; }
fi
rm -rf "$out" && mkdir -p "$out/lib"
(cd "$root" && mvn -B -q -ntp package -DskipTests -Dspotless.check.skip=true -pl infra -am)
# the checks (infra's bench package) over the trainer (activities) and its configs (workflows)
cp "$root"/workflows/target/flipflow-workflows-*.jar "$root"/activities/target/flipflow-activities-*.jar \
  "$root/infra/target/flipflow.jar" "$out/lib/"
rm -f "$out"/lib/*-tests.jar
lib="$root/infra/target/lib"
for j in api-0.36.0 pytorch-engine-0.36.0 pytorch-jni-2.7.1-0.36.0 gson- jna- commons-compress- slf4j-api-; do
  cp "$lib"/$j*.jar "$out/lib/"
done
if [ -n "$jni" ]; then
  mkdir -p "$out/jni"
  # debug symbols are not needed on the device and triple the size
  strip --strip-unneeded -o "$out/jni/libdjl_torch.so" "$jni"
  echo "$jni_torch" > "$out/jni/torch-version"
fi
jlink --add-modules java.base,java.logging,java.management,java.naming,java.sql,java.desktop,jdk.unsupported,java.xml \
  --strip-debug --no-header-files --no-man-pages --compress=2 --output "$out/jre"
tar -C "$out" -czf "$out/jre.tgz" jre && rm -rf "$out/jre"
exclude="$(git -C "$root" rev-parse --git-path info/exclude)"  # a worktree's .git is a file
grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >> "$exclude"
du -sh "$out"; ls "$out/lib" "$out/jni" 2>/dev/null
