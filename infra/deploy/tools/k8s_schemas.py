#!/usr/bin/env python3
"""Turn Kubernetes' published OpenAPI v3 documents into kubeconform's schema layout, offline.

kubeconform fetches JSON schemas from the internet by default. The Kubernetes release itself ships
its OpenAPI v3 documents (api/openapi-spec/v3 in the k8s.io/kubernetes Go module), so we derive the
schemas from those instead: one standalone file per kind, `$ref`s inlined, named like kubeconform's
`{{ .ResourceKind }}{{ .KindSuffix }}.json` (deployment-apps-v1.json, configmap-v1.json).

Strict: every object with declared properties gets `additionalProperties: false`, so a misspelt
field (`terminationGracePeriod`) fails validation instead of being silently ignored by the API.
Hand-written because the converters on PyPI only read OpenAPI v2 (swagger.json); this is ~60 lines.

usage: k8s_schemas.py OUT_DIR SPEC.json [SPEC.json ...]
"""
import copy
import json
import sys
from pathlib import Path


def inline(node, schemas, stack):
    """Returns node with every #/components/schemas/X reference replaced by a strict copy of X."""
    if isinstance(node, list):
        return [inline(n, schemas, stack) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in stack:
            # Recursive types (JSONSchemaProps) only: accept anything below the cycle.
            return {}
        target = inline(schemas[name], schemas, stack | {name})
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return {**target, **inline(rest, schemas, stack)} if rest else target
    out = {k: inline(v, schemas, stack) for k, v in node.items()}
    # OpenAPI v3 wraps references that carry a default or description as allOf: [{$ref}].
    if list(out.get("allOf", [])) and len(out["allOf"]) == 1 and set(out) <= {"allOf", "default", "description"}:
        merged = copy.deepcopy(out["allOf"][0])
        merged.update({k: v for k, v in out.items() if k != "allOf"})
        out = merged
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    out.pop("x-kubernetes-group-version-kind", None)
    return out


def kind_suffix(group, version):
    """kubeconform's KindSuffix: -<first label of the group>-<version>, or -<version> for core."""
    return f"-{group.split('.')[0].lower()}-{version}" if group else f"-{version}"


def main(out_dir, specs):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for spec in specs:
        schemas = json.loads(Path(spec).read_text())["components"]["schemas"]
        for name, schema in schemas.items():
            for gvk in schema.get("x-kubernetes-group-version-kind", []):
                if name.endswith("List") or gvk["kind"] in ("Status", "WatchEvent", "DeleteOptions"):
                    continue
                standalone = inline(schema, schemas, {name})
                standalone["$schema"] = "http://json-schema.org/schema#"
                file = out / f"{gvk['kind'].lower()}{kind_suffix(gvk['group'], gvk['version'])}.json"
                file.write_text(json.dumps(standalone, indent=1))
                written += 1
    if written == 0:
        sys.exit(f"no Kubernetes kinds found in {specs}")
    print(f"k8s_schemas: {len(list(out.glob('*.json')))} kinds from {len(specs)} OpenAPI documents into {out}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
