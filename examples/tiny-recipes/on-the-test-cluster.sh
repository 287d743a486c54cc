#!/usr/bin/env bash
# The tiny pipeline on the Slurm test cluster through SSH: the root README's second command,
# run inside integration-tests/with-services.sh (which starts Slurm and the SSH login node).
# Builds the jobs' Python first (integration-tests/cluster-venv.sh), then runs
# `nemotron recipe pipe --run test-cluster` with this folder's env.toml; extra arguments go to
# the pipe command (`pretrain.train.iters=50`, `-d`).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
"$ROOT/integration-tests/cluster-venv.sh" >/dev/null
cd "$HERE"
exec uv run --project "$ROOT" nemotron recipe pipe --run test-cluster "$@"
