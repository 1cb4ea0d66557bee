#!/bin/sh
# Build reelvault's wheel from this checkout and install it, with its dependencies, into a new
# virtual environment. The image's build stage runs exactly this (Containerfile), and so does
# CI on the machine itself (tests/deploy/test_image_recipe.py).
#
#   deploy/install.sh /opt/reelvault
set -eu

venv=${1:?usage: deploy/install.sh VENV_DIR}
src=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
dist=$(mktemp -d)
trap 'rm -rf "$dist"' EXIT

"$python" -m pip wheel --quiet --no-deps --wheel-dir "$dist" "$src"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet "$dist"/reelvault-*.whl
