#!/usr/bin/env bash
# Build the Python environment the test cluster's jobs run in: a venv of the nodes' own
# /usr/bin/python3 with this workspace's nemotron packages (and numpy) installed, readable by
# every user, so a job of the SSH user (`nrun`) can import them. A real cluster has such an
# environment (or a container image); run profiles name it with `python = ".../bin/python"`.
#
# Idempotent: the venv is made once; our packages are reinstalled from the sources each run.
# Needs uv. Prints the venv's python on stdout.
#
# Environment:
#   NRUN_IT_DIR   state root (default /tmp/nrun-it); the venv is $NRUN_IT_DIR/kit-venv
#   NRUN_IT_NODE_PYTHON  the nodes' interpreter (default /usr/bin/python3)
set -euo pipefail

log() { echo "cluster-venv: $*" >&2; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NRUN_IT_DIR=${NRUN_IT_DIR:-/tmp/nrun-it}
VENV=$NRUN_IT_DIR/kit-venv
PYTHON=${NRUN_IT_NODE_PYTHON:-/usr/bin/python3}
OURS=(nrun-config nrun-exec-local nemotron-registry nemotron-kit nemotron-tiny-recipes)
PATHS=("$ROOT/packages/nrun-config" "$ROOT/packages/nrun-exec-local"
       "$ROOT/packages/nemotron-registry" "$ROOT/packages/nemotron-kit"
       "$ROOT/examples/tiny-recipes")

t0=$(date +%s)
mkdir -p "$NRUN_IT_DIR"
chmod 755 "$NRUN_IT_DIR"
if [[ ! -x $VENV/bin/python ]]; then
  uv venv --quiet --python "$PYTHON" "$VENV" >&2
fi
reinstall=()
for name in "${OURS[@]}"; do reinstall+=(--reinstall-package "$name"); done
uv pip install --quiet --python "$VENV/bin/python" --link-mode=copy "${reinstall[@]}" \
  "${PATHS[@]}" >&2
chmod -R a+rX "$VENV"
log "$VENV ready in $(( $(date +%s) - t0 )) s"
echo "$VENV/bin/python"
