#!/usr/bin/env bash
# Validates the deployment files offline, with the real tools; CI calls it. Exits non-zero on any
# failure and prints what it checked.
#   compose: `docker compose config` (the docker CLI plugin when present, else Docker Compose built
#            from its Go module) renders compose.yaml with .env.example for every profile, plus
#            checks of what the brief promises: loopback-only ports, secrets required, GPU request.
#   k8s:     kubeconform -strict against JSON schemas generated from Kubernetes' own OpenAPI v3
#            documents (Go module k8s.io/kubernetes), so nothing is fetched at validation time.
# Tools and schemas are built once into infra/deploy/.cache (git-ignored; FLIPFLOW_DEPLOY_CACHE
# moves it). Needs: go, python3 (PyYAML for the k8s policy checks), the Go module proxy on first run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${FLIPFLOW_DEPLOY_CACHE:-$here/.cache}"
K8S_VERSION=1.35.4          # the Kubernetes release whose API the manifests are checked against
KUBECONFORM_VERSION=v0.8.0
COMPOSE_VERSION=v5.6.0      # newest Docker Compose whose go.mod accepts this machine's Go 1.26.8
mkdir -p "$cache/bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() { printf '   FAILED: %s\n' "$*" >&2; exit 1; }

# --- tools ------------------------------------------------------------------------------------
compose_cmd() {
  if docker compose version >/dev/null 2>&1; then
    echo "docker compose"
  elif command -v docker-compose >/dev/null 2>&1 && docker-compose version --short 2>/dev/null | grep -Eq '^v?[2-9]'; then
    echo "docker-compose"
  else
    if [ ! -x "$cache/bin/docker-compose" ]; then
      # `go install` refuses this module (its go.mod has exclude directives): build its source.
      echo "   building Docker Compose $COMPOSE_VERSION from the Go module (first run only, minutes)" >&2
      local dir src
      dir="$(cd "$cache" && go mod download -json "github.com/docker/compose/v5@$COMPOSE_VERSION" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
      src="$(mktemp -d)"
      cp -r "$dir/." "$src" && chmod -R u+w "$src"
      (cd "$src" && go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=$COMPOSE_VERSION" \
        -o "$cache/bin/docker-compose" ./cmd) >&2
      rm -rf "$src"
    fi
    echo "$cache/bin/docker-compose"
  fi
}

kubeconform_cmd() {
  if command -v kubeconform >/dev/null 2>&1; then
    command -v kubeconform
  else
    [ -x "$cache/bin/kubeconform" ] \
      || GOBIN="$cache/bin" go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" >&2
    echo "$cache/bin/kubeconform"
  fi
}

k8s_schemas() {
  local out="$cache/k8s-schemas-v$K8S_VERSION"
  if [ ! -f "$out/deployment-apps-v1.json" ]; then
    local dir spec
    dir="$(cd "$cache" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
    spec="$dir/api/openapi-spec/v3"
    python3 "$here/tools/k8s_schemas.py" "$out" "$spec/api__v1_openapi.json" \
      "$spec/apis__apps__v1_openapi.json" "$spec/apis__policy__v1_openapi.json" >&2
  fi
  echo "$out"
}

# --- compose ----------------------------------------------------------------------------------
step "compose: infra/deploy/compose.yaml"
read -r -a compose <<<"$(compose_cmd)"
echo "   tool: ${compose[*]} ($("${compose[@]}" version --short 2>/dev/null || echo '?'))"
cf=(-f "$here/compose.yaml" --env-file "$here/.env.example")

for profiles in "" "--profile gpu" "--profile cpu-train"; do
  # shellcheck disable=SC2086
  "${compose[@]}" "${cf[@]}" $profiles config --quiet || fail "compose config ${profiles:-(default profile)}"
  ok "config renders with .env.example ${profiles:-(default profile)}"
done

rendered="$("${compose[@]}" "${cf[@]}" --profile gpu --profile cpu-train config --format json)"
python3 - "$rendered" <<'PY' || fail "compose policy checks"
import json, sys
c = json.loads(sys.argv[1])
s = c["services"]
bad = [f"{n}: {p.get('host_ip') or '0.0.0.0'}:{p.get('published')}" for n, v in s.items()
       for p in v.get("ports", []) if p.get("host_ip") != "127.0.0.1"]
assert not bad, f"ports not bound to 127.0.0.1: {bad}"
print(f"   ok: {sum(len(v.get('ports', [])) for v in s.values())} published ports, all on 127.0.0.1")
need = {"postgres", "flipflow-migrate", "temporal-schema", "temporal", "temporal-setup", "temporal-ui",
        "minio", "minio-setup", "worker-control", "worker-cpu", "worker-gpu"}
assert need <= s.keys(), f"missing services: {need - s.keys()}"
print(f"   ok: services {sorted(need)}")
for n in ("worker-control", "worker-cpu"):
    assert "/flipflow-worker-cpu:" in "/" + s[n]["image"], f"{n} must use the libtorch-free image, has {s[n]['image']}"
gpu = s["worker-gpu"]
assert "/flipflow-worker-gpu:" in "/" + gpu["image"] and gpu.get("profiles") == ["gpu"], "worker-gpu image/profile"
devs = gpu["deploy"]["resources"]["reservations"]["devices"]
assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devs), "worker-gpu: no nvidia reservation"
print("   ok: control/cpu workers on flipflow-worker-cpu; worker-gpu on flipflow-worker-gpu, profile gpu, nvidia device reserved")
grace = {n: s[n].get("stop_grace_period") for n in ("worker-control", "worker-cpu", "worker-gpu")}
assert grace["worker-gpu"] in ("10m0s", "10m"), grace
print(f"   ok: stop grace periods {grace}")
PY

if "${compose[@]}" -f "$here/compose.yaml" --env-file /dev/null config --quiet 2>/tmp/flipflow-compose-noenv.$$; then
  rm -f /tmp/flipflow-compose-noenv.$$; fail "compose config passed without any secrets set"
fi
grep -q "set .* in infra/deploy/.env" /tmp/flipflow-compose-noenv.$$ \
  || { cat /tmp/flipflow-compose-noenv.$$ >&2; rm -f /tmp/flipflow-compose-noenv.$$; fail "missing-secret message"; }
ok "without .env, config fails naming the secret: $(grep -o 'set [A-Z_]* in infra/deploy/.env' /tmp/flipflow-compose-noenv.$$ | head -1)"
rm -f /tmp/flipflow-compose-noenv.$$
if grep -Ev '^\s*(#|$)' "$here/.env.example" | grep -Ev '^(POSTGRES|TEMPORAL|FLIPFLOW|MINIO)_[A-Z0-9_]+=CHANGE-ME-' ; then
  fail ".env.example holds a value that is not a CHANGE-ME placeholder (above)"
fi
ok ".env.example holds placeholders only"
for f in "$here"/compose/*.sh; do sh -n "$f" || fail "shell syntax: $f"; done
ok "helper scripts parse (sh -n): $(cd "$here" && echo compose/*.sh)"

# --- kubernetes -------------------------------------------------------------------------------
step "k8s: infra/deploy/k8s/*.yaml against Kubernetes $K8S_VERSION (strict)"
kc="$(kubeconform_cmd)"
schemas="$(k8s_schemas)"
echo "   tool: kubeconform $("$kc" -v | sed "s/development/$KUBECONFORM_VERSION/"); schemas: $(ls "$schemas" | wc -l) kinds generated from k8s.io/kubernetes@v$K8S_VERSION"
location="$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json"
# Kustomization is kustomize's own file, not a cluster object: there is no API schema for it.
"$kc" -strict -summary -kubernetes-version "$K8S_VERSION" -schema-location "$location" \
  -skip Kustomization "$here"/k8s/*.yaml || fail "kubeconform"

# The validator must be able to fail: a misspelt field has to be rejected by these schemas.
broken="$(mktemp --suffix=.yaml)"
sed 's/terminationGracePeriodSeconds:/terminationGracePeriod:/' "$here/k8s/worker-gpu.yaml" > "$broken"
if "$kc" -strict -schema-location "$location" "$broken" >/dev/null 2>&1; then
  rm -f "$broken"; fail "kubeconform accepted a misspelt field: the schemas are not strict"
fi
rm -f "$broken"
ok "self-check: a misspelt field (terminationGracePeriod) is rejected"

if python3 -c 'import yaml' 2>/dev/null; then
  python3 - "$here/k8s" <<'PY' || fail "k8s policy checks"
import glob, os, sys, yaml
docs = [d for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.yaml"))) for d in yaml.safe_load_all(open(f)) if d]
deps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
assert set(deps) == {"flipflow-worker-control", "flipflow-worker-cpu", "flipflow-worker-gpu"}, sorted(deps)
for name, d in deps.items():
    pod = d["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert {"secretRef": {"name": "flipflow-secrets"}} in c["envFrom"], f"{name}: secret not referenced by name"
    assert not any("value" in e and ("PASSWORD" in e["name"] or "SECRET" in e["name"]) for e in c.get("env", [])), name
    assert c["resources"]["requests"] and c["resources"]["limits"], f"{name}: requests/limits"
    assert "livenessProbe" in c, f"{name}: liveness"
    assert c["image"] == ("flipflow-worker-gpu" if name.endswith("gpu") else "flipflow-worker-cpu"), f"{name}: {c['image']}"
gpu = deps["flipflow-worker-gpu"]["spec"]["template"]["spec"]
res = gpu["containers"][0]["resources"]
assert res["limits"]["nvidia.com/gpu"] == 1 and res["requests"]["nvidia.com/gpu"] == 1, res
assert gpu["nodeSelector"] and gpu["tolerations"], "gpu: nodeSelector/tolerations example"
assert gpu["terminationGracePeriodSeconds"] >= 600, "gpu: grace period too short for a checkpoint"
secrets = [d for d in docs if d["kind"] == "Secret"]
assert all(v.startswith("<placeholder") for s in secrets for v in s.get("stringData", {}).values()), "Secret example holds a value"
kust = [d for d in docs if d["kind"] == "Kustomization"][0]
assert "secret.example.yaml" not in kust["resources"], "the example Secret must not be applied"
print("   ok: 3 worker Deployments reference flipflow-secrets by name, have requests/limits and liveness;")
print(f"       gpu requests nvidia.com/gpu: 1 with nodeSelector/tolerations, grace {gpu['terminationGracePeriodSeconds']} s;")
print("       the example Secret holds placeholders only and is not in kustomization.yaml")
PY
else
  echo "   SKIPPED k8s policy checks: python3 has no yaml module (apt-get install python3-yaml)"
fi

step "all deployment checks passed"
