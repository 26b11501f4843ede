#!/usr/bin/env bash
# ./portal.sh up [--no-serve] | test [pytest args…] | screenshots | down
#
# Bootstraps .venv from pyproject.toml (only when pyproject.toml changed since the last install), then
# hands over to the launcher package devstack/ (`python -m devstack`), which finds or starts PostgreSQL
# and Redis and runs the portal.
set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")"

VENV=.venv
STAMP="$VENV/.pyproject.sha256"

# pyproject.toml pins requires-python = ">=3.11,<3.12": find a 3.11 interpreter (pyenv shims included).
find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "error: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

# A venv whose interpreter vanished or is not 3.11 (e.g. made by another python) is rebuilt, not patched.
if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    python=$(find_python)
    echo "==> creating $VENV with $python"
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
    rm -f "$STAMP"
fi

# Install the exact pins of [project].dependencies plus the embedded and dev extras. Read straight from
# pyproject.toml with tomllib rather than `pip install -e .[embedded,dev]`: the project is not a package
# ([tool.setuptools] packages = []), so a build step would only cost time and leave an egg-info behind.
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$want" ]; then
    echo "==> installing dependencies from pyproject.toml into $VENV"
    requirements=$(mktemp)
    trap 'rm -f "$requirements"' EXIT
    "$VENV/bin/python" - "$requirements" <<'PY'
import sys
import tomllib

with open("pyproject.toml", "rb") as handle:
    project = tomllib.load(handle)["project"]
extras = project.get("optional-dependencies", {})
requirements = project["dependencies"] + extras.get("embedded", []) + extras.get("dev", [])
with open(sys.argv[1], "w") as out:
    out.write("\n".join(requirements) + "\n")
PY
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --quiet -r "$requirements"
    rm -f "$requirements"  # exec below would skip the EXIT trap
    echo "$want" >"$STAMP"
fi

# exec: the launcher becomes this process, so Ctrl-C and SIGTERM reach it directly.
exec "$VENV/bin/python" -m devstack "$@"
