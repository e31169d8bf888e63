#!/usr/bin/env python3
"""Checks the two Jib image tarballs without a Docker engine: what each image holds and runs.

usage: check_images.py infra/target/jib-worker-cpu.tar infra/target/jib-worker-gpu.tar
The cpu image (control and cpu queues) must hold no libtorch; the gpu image must hold it.
"""
import io
import json
import sys
import tarfile


def image(path):
    """(files in all layers, image config) of a `docker save`-style tarball as Jib writes it."""
    with tarfile.open(path) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]
        config = json.load(outer.extractfile(manifest["Config"]))
        files = set()
        for layer in manifest["Layers"]:
            data = outer.extractfile(layer).read()
            with tarfile.open(fileobj=io.BytesIO(data)) as t:  # gzip or plain, detected
                files.update("/" + m.name.lstrip("./") for m in t.getmembers())
    return files, config, manifest.get("RepoTags", [])


def main(cpu_tar, gpu_tar):
    problems = []
    for path, flavour in ((cpu_tar, "cpu"), (gpu_tar, "gpu")):
        files, config, tags = image(path)
        libs = sorted(f for f in files if f.startswith("/app/libs/"))
        torch = [f for f in libs if "pytorch-native" in f or "pytorch-jni" in f]
        entry = config["config"].get("Entrypoint", [])
        print(f"{path}: tags {tags}, {len(libs)} jars in /app/libs, libtorch jars {[t.rsplit('/', 1)[1] for t in torch]}")
        print(f"  entrypoint {' '.join(entry)}; cmd {config['config'].get('Cmd')}")
        if flavour == "cpu" and torch:
            problems.append(f"{path}: the cpu image must hold no libtorch, has {torch}")
        if flavour == "gpu" and not any("pytorch-native" in t for t in torch):
            problems.append(f"{path}: the gpu image has no pytorch-native jar")
        if not any(t.startswith(f"flipflow-worker-{flavour}:") or f"/flipflow-worker-{flavour}:" in t for t in tags):
            problems.append(f"{path}: expected image flipflow-worker-{flavour}, tags {tags}")
        for needed in ("/app/config/flipflow.properties", "/app/config/logback.xml"):
            if needed not in files:
                problems.append(f"{path}: {needed} missing")
        if "io.flipflow.infra.cli.FlipflowCommand" not in entry:
            problems.append(f"{path}: entrypoint does not run FlipflowCommand: {entry}")
        if flavour == "gpu":
            extra = sorted(f for f in files if f.startswith("/opt/libtorch/"))
            print(f"  /opt/libtorch: {len(extra)} entries {extra[:3]}")
    for p in problems:
        print("FAILED:", p, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
