#!/bin/sh
# Build reelvault's wheel from this checkout and install it into a new virtual environment,
# with exactly the runtime dependencies that uv.lock pins (hash-checked; no test or bench
# extras). The image's build stage runs exactly this (Containerfile), and so does CI on the
# machine itself (tests/deploy/test_image_recipe.py).
#
#   deploy/install.sh /opt/reelvault
set -eu

venv=${1:?usage: deploy/install.sh VENV_DIR}
src=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# uv, pinned with hashes, only to read uv.lock: it stays out of the environment.
PIP_ROOT_USER_ACTION=ignore "$python" -m pip install --quiet --require-hashes \
    --target "$work/uv" -r "$src/deploy/uv-requirements.txt"
# The runtime set of the lock, with hashes. --locked: a lock that no longer matches
# pyproject.toml stops the build (make lock).
UV_PYTHON_DOWNLOADS=never "$work/uv/bin/uv" export --quiet --project "$src" --locked \
    --no-dev --no-emit-project --format requirements-txt --output-file "$work/requirements.txt"

"$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$src"
"$python" -m venv "$venv"
# Hash-checking mode: every package, dependencies included, must be pinned in the export.
"$venv/bin/python" -m pip install --quiet --require-hashes -r "$work/requirements.txt"
"$venv/bin/python" -m pip install --quiet --no-deps "$work/dist"/reelvault-*.whl
"$venv/bin/python" -m pip check
