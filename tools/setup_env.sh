#!/usr/bin/env bash
# Create (or reuse) the project environment in .venv/.
#
# The environment is rebuilt only when a requirements file changed: a stamp
# in .venv holds the hash of requirements*.txt, so a second call costs nothing.
# mmcv 2.1.0 has no wheel for torch 2.14, so it is built once from the sdist
# (about 11 min on 2 cores) and the wheel is cached outside the repository in
# $HILDA_WHEEL_CACHE (default ~/.cache/hilda/wheels), keyed by Python and torch.
#
# Environment variables:
#   PYTHON             interpreter for the venv (default: python3.11)
#   HILDA_VENV         venv directory (default: <repo>/.venv)
#   HILDA_WHEEL_CACHE  where the built mmcv wheel is kept
#   MAX_JOBS           parallel compile jobs for mmcv (default: nproc)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python3.11}
VENV=${HILDA_VENV:-$ROOT/.venv}
CACHE=${HILDA_WHEEL_CACHE:-$HOME/.cache/hilda/wheels}
STAMP="$VENV/.hilda-env-stamp"

req_hash=$(cat requirements.txt requirements/*.txt tools/setup_env.sh | sha256sum | cut -d' ' -f1)
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$req_hash" ]]; then
    exit 0
fi

log() { echo "[setup_env $(date +%H:%M:%S)] $*"; }
start=$(date +%s)

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

log "installing torch and build tools"
"${PIP[@]}" install -q -r requirements/torch.txt -r requirements/build.txt

# mmcv's compiled ops are built against the installed torch; the cache key
# names both so a torch upgrade never picks up an incompatible wheel.
torch_ver=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
py_tag=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
mmcv_spec=$(grep -E '^mmcv==' requirements/mmcv.txt)
mmcv_dir="$CACHE/${mmcv_spec/==/-}-torch$torch_ver-$py_tag"
mkdir -p "$mmcv_dir"
if ! ls "$mmcv_dir"/mmcv-*.whl >/dev/null 2>&1; then
    log "building $mmcv_spec with ops into $mmcv_dir (about 11 min on 2 cores)"
    tmp=$(mktemp -d)
    "${PIP[@]}" download -q --no-deps --no-binary :all: -d "$tmp" "$mmcv_spec"
    tar xzf "$tmp"/mmcv-*.tar.gz -C "$tmp"
    # torch >= 2.10 headers need C++20; mmcv 2.1.0 hard-codes -std=c++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$tmp"/mmcv-*/setup.py
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "${PIP[@]}" wheel -q --no-deps --no-build-isolation \
        -w "$tmp" "$tmp"/mmcv-*/
    # Move into place only when complete, so an interrupted build is redone.
    mv "$tmp"/mmcv-*.whl "$mmcv_dir"/
    rm -rf "$tmp"
else
    log "reusing cached $(basename "$mmcv_dir"/mmcv-*.whl)"
fi

log "installing mmcv and the OpenMMLab stack"
"${PIP[@]}" install -q "$mmcv_dir"/mmcv-*.whl
"${PIP[@]}" install -q -r requirements/runtime.txt -r requirements/tests.txt \
    -c requirements/torch.txt -c requirements/mmcv.txt

log "checking the stack imports"
"$PY" - <<'PY'
import importlib
for name in ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmcv.ops', 'mmdet',
             'mmdet3d', 'mmpretrain', 'spconv.pytorch', 'diffusers',
             'nuscenes', 'numpy'):
    importlib.import_module(name)
PY

echo "$req_hash" > "$STAMP"
log "environment ready in $(( $(date +%s) - start )) s"
