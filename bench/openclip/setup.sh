#!/usr/bin/env bash
# Creates bench/openclip/.venv with the pinned peer-benchmark packages. Idempotent: a second run with an
# unchanged requirements.txt only checks the stamp and exits; a changed one re-runs pip.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

"$python" - <<'PY'
import sys
if sys.version_info < (3, 9):
    sys.exit(f"bench/openclip needs Python >= 3.9, found {sys.version.split()[0]}")
PY

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "bench/openclip/.venv is up to date ($venv)"
  exit 0
fi

[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
# Import once so a broken install fails here, not in the benchmark.
"$venv/bin/python" -c 'import torch, open_clip, webdataset, transformers, clip_benchmark.cli; print("torch", torch.__version__, "open_clip", open_clip.__version__)'
echo "$want" > "$stamp"
