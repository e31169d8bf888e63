#!/usr/bin/env bash
# Creates bench/tensorboard/.venv with the pinned tensorboard package, which the Java tests of
# io.flipflow.activities.tensorboard call (read_events.py, golden.py) to read flipflow's event files
# back, and pyarrow, with which read_parquet.py reads the importers' shard parquet back.
# Idempotent: a second run with an unchanged requirements.txt only checks the stamp and exits;
# a changed one re-runs pip. About 180 MB and 35 s from PyPI the first time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

"$python" - <<'PY'
import sys
if sys.version_info < (3, 11):  # numpy 2.4 (a tensorboard dependency) needs 3.11
    sys.exit(f"bench/tensorboard needs Python >= 3.11, found {sys.version.split()[0]}")
PY

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "bench/tensorboard/.venv is up to date ($venv)"
  exit 0
fi

[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
# Import once so a broken install fails here, not in the test.
"$venv/bin/python" -c 'import tensorboard, pyarrow; from tensorboard.backend.event_processing import event_accumulator; print("tensorboard", tensorboard.__version__, "pyarrow", pyarrow.__version__)'
echo "$want" > "$stamp"
