#!/usr/bin/env bash
# Packs what the GPU check needs into .gpu/ (git-ignored) so it travels with the tree to a bare
# CUDA machine with no network and no Java: a jlink'ed Java 17 runtime (~32 MB packed), DJL's API,
# PyTorch engine and JNI jars, and flipflow's activities classes. libtorch itself is NOT carried
# (gigabytes): the check uses the machine's own (PyTorch's lib folder) via PYTORCH_LIBRARY_PATH.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
out="$root/.gpu"
rm -rf "$out" && mkdir -p "$out/lib"
(cd "$root" && mvn -B -q -ntp package -DskipTests -Dspotless.check.skip=true -pl activities -am)
cp "$root/activities/target/flipflow-activities-"*[0-9T].jar "$out/lib/" 2>/dev/null \
  || cp "$root"/activities/target/flipflow-activities-*SNAPSHOT.jar "$out/lib/"
rm -f "$out"/lib/*-tests.jar
lib="$root/infra/target/lib"
[ -d "$lib" ] || (cd "$root" && mvn -B -q -ntp package -DskipTests -Dspotless.check.skip=true)
for j in api-0.36.0 pytorch-engine-0.36.0 pytorch-jni-2.7.1-0.36.0 gson- jna- commons-compress- slf4j-api-; do
  cp "$lib"/$j*.jar "$out/lib/"
done
jlink --add-modules java.base,java.logging,java.management,java.naming,java.sql,java.desktop,jdk.unsupported,java.xml \
  --strip-debug --no-header-files --no-man-pages --compress=2 --output "$out/jre"
tar -C "$out" -czf "$out/jre.tgz" jre && rm -rf "$out/jre"
grep -qx '/.gpu/' "$root/.git/info/exclude" 2>/dev/null || echo '/.gpu/' >> "$root/.git/info/exclude"
du -sh "$out"; ls "$out/lib"
