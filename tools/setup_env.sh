#!/usr/bin/env bash
# Create (or reuse) the project environment in .venv/.
#
# The environment is rebuilt only when a requirements file changed: a stamp
# in .venv holds the hash of requirements*.txt, so a second call costs nothing.
# mmcv 2.1.0 has no wheel for torch 2.14, so it is built once from the sdist
# (8-21 min on 2 cores; a heartbeat line every 20 s) and the wheel is cached
# outside the repository in $HILDA_WHEEL_CACHE (default ~/.cache/hilda/wheels),
# keyed by Python and torch.
#
# Environment variables:
#   PYTHON             interpreter for the venv (default: python3.11)
#   HILDA_VENV         venv directory (default: <repo>/.venv)
#   HILDA_WHEEL_CACHE  where the built mmcv wheel is kept
#   MAX_JOBS           parallel compile jobs for mmcv (default: nproc)
#   HILDA_HEARTBEAT_S  seconds between progress lines of the long steps (20)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-python3.11}
VENV=${HILDA_VENV:-$ROOT/.venv}
CACHE=${HILDA_WHEEL_CACHE:-$HOME/.cache/hilda/wheels}
STAMP="$VENV/.hilda-env-stamp"

log() { echo "[setup_env $(date +%H:%M:%S)] $*"; }

# Run a long step ("$@") and print its elapsed time every
# HILDA_HEARTBEAT_S seconds (default 20), so that a build that prints
# nothing for many minutes never looks like a hang. Returns the step's status.
heartbeat() {
    local what=$1 usual=$2
    shift 2
    local t0 interval=${HILDA_HEARTBEAT_S:-20}
    t0=$(date +%s)
    log "$what (usually $usual)"
    (
        # sleep's output goes nowhere: a killed loop must not hold the pipe
        while sleep "$interval" >/dev/null 2>&1; do
            log "... $what: $(( $(date +%s) - t0 )) s so far (usually $usual)"
        done
    ) &
    local beat=$! rc=0
    "$@" || rc=$?
    kill "$beat" 2>/dev/null || true
    wait "$beat" 2>/dev/null || true
    log "$what: done in $(( $(date +%s) - t0 )) s"
    return "$rc"
}

# `source tools/setup_env.sh` defines the functions above and stops here.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    return 0
fi

req_hash=$(cat requirements.txt requirements/*.txt tools/setup_env.sh | sha256sum | cut -d' ' -f1)
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$req_hash" ]]; then
    exit 0
fi

start=$(date +%s)

if [[ ! -x "$VENV/bin/python" ]]; then
    heartbeat "creating $VENV with $PYTHON" "5 s" "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

heartbeat "installing torch and build tools" "2 min" \
    "${PIP[@]}" install -q -r requirements/torch.txt -r requirements/build.txt

# mmcv's compiled ops are built against the installed torch; the cache key
# names both so a torch upgrade never picks up an incompatible wheel.
torch_ver=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
py_tag=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
mmcv_spec=$(grep -E '^mmcv==' requirements/mmcv.txt)
mmcv_dir="$CACHE/${mmcv_spec/==/-}-torch$torch_ver-$py_tag"
mkdir -p "$mmcv_dir"
if ! ls "$mmcv_dir"/mmcv-*.whl >/dev/null 2>&1; then
    log "building $mmcv_spec with ops once; the wheel is kept in $mmcv_dir"
    tmp=$(mktemp -d)
    heartbeat "downloading the $mmcv_spec sdist" "10 s" \
        "${PIP[@]}" download -q --no-deps --no-binary :all: -d "$tmp" "$mmcv_spec"
    tar xzf "$tmp"/mmcv-*.tar.gz -C "$tmp"
    # torch >= 2.10 headers need C++20; mmcv 2.1.0 hard-codes -std=c++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$tmp"/mmcv-*/setup.py
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        heartbeat "compiling mmcv's ops" "8-21 min on 2 cores" \
        "${PIP[@]}" wheel -q --no-deps --no-build-isolation \
        -w "$tmp" "$tmp"/mmcv-*/
    # Move into place only when complete, so an interrupted build is redone.
    mv "$tmp"/mmcv-*.whl "$mmcv_dir"/
    rm -rf "$tmp"
else
    log "reusing cached $(basename "$mmcv_dir"/mmcv-*.whl)"
fi

heartbeat "installing mmcv" "20 s" "${PIP[@]}" install -q "$mmcv_dir"/mmcv-*.whl
heartbeat "installing the OpenMMLab stack and test tools" "1-3 min" \
    "${PIP[@]}" install -q -r requirements/runtime.txt -r requirements/tests.txt \
    -c requirements/torch.txt -c requirements/mmcv.txt

heartbeat "checking the stack imports" "10-30 s" "$PY" -c "
import importlib
for name in ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmcv.ops', 'mmdet',
             'mmdet3d', 'mmpretrain', 'spconv.pytorch', 'diffusers',
             'nuscenes', 'numpy'):
    importlib.import_module(name)
"

echo "$req_hash" > "$STAMP"
log "environment ready in $(( $(date +%s) - start )) s"
