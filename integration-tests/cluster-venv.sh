#!/usr/bin/env bash
# Build the Python environment the test cluster's jobs run in: a venv of the nodes' own
# /usr/bin/python3 with this workspace's nemotron packages (and numpy) installed, readable by
# every user, so a job of the SSH user (`nrun`) can import them. A real cluster has such an
# environment (or a container image); run profiles name it with `python = ".../bin/python"`.
#
# Idempotent: the venv is made once; our packages are reinstalled when their sources changed,
# as wheels (`--no-sources`: not editable), so the venv works where only it is mounted.
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
SOURCES=(packages/nrun-config packages/nrun-exec-local packages/nemotron-registry
         packages/nemotron-kit examples/tiny-recipes)

t0=$(date +%s)
mkdir -p "$NRUN_IT_DIR"
chmod 755 "$NRUN_IT_DIR"
exec 9>"$NRUN_IT_DIR/kit-venv.lock"
flock 9  # one build at a time: test envs running in parallel may all ask for it
if [[ ! -x $VENV/bin/python ]]; then
  uv venv --quiet --python "$PYTHON" "$VENV" >&2
fi
# What is installed is named by the sources' digest: unchanged sources, nothing to do (a job
# may be running from the venv right now).
cd "$ROOT"
digest=$(find "${SOURCES[@]}" -type f -not -path '*/__pycache__/*' -not -path '*/tests/*' \
  -not -path '*/.*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
if [[ $(cat "$VENV/.nemotron-sources" 2>/dev/null) != "$digest" ]]; then
  reinstall=()
  for name in "${OURS[@]}"; do reinstall+=(--reinstall-package "$name"); done
  uv pip install --quiet --python "$VENV/bin/python" --link-mode=copy --no-sources \
    "${reinstall[@]}" "${SOURCES[@]}" >&2
  echo "$digest" > "$VENV/.nemotron-sources"
  chmod -R a+rX "$VENV"
fi
log "$VENV ready in $(( $(date +%s) - t0 )) s"
echo "$VENV/bin/python"
