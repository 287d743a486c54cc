#!/usr/bin/env bash
# Start the real services the tests use (on loopback), run the given command, stop what was
# started, and exit with the command's status:
#   integration-tests/with-services.sh tox run-parallel --parallel-live
#
# Docker (docker-up.sh), Slurm (slurm-up.sh) and sshd (sshd-up.sh) start in parallel (their apt
# installs take turns, see apt-install.sh). Each may fail on its own: a one-line warning says so,
# the tests that need it skip themselves, and the others still run. On exit (also on Ctrl-C) the
# services are stopped in reverse order: sshd, Slurm, Docker; each down script stops only what
# its up script started, and the one of a service that failed cleans up what got started.
# A service already running from an earlier up script (e.g. started by hand) is left running.
# Their output is interleaved on stderr; every line names its script (docker-up:, slurm-up:...).
#
# Also installs (as root, with apt) the tools some tests drive: graphviz, chromium, tmux.
# Exported for the tests (see README.md): NRUN_IT_DIR, NRUN_IT_SSH_HOST/PORT/USER/KEY/KNOWN_HOSTS.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

export NRUN_IT_DIR=${NRUN_IT_DIR:-/tmp/nrun-it}
export NRUN_IT_SSH_HOST=127.0.0.1
export NRUN_IT_SSH_PORT=${NRUN_IT_SSH_PORT:-2222}
export NRUN_IT_SSH_USER=${NRUN_IT_SSH_USER:-nrun}
export NRUN_IT_SSH_KEY=$NRUN_IT_DIR/sshd/id_ed25519
export NRUN_IT_SSH_KNOWN_HOSTS=$NRUN_IT_DIR/sshd/known_hosts
mkdir -p "$NRUN_IT_DIR"

services=(docker slurm sshd)
declare -A what=([docker]="Docker" [slurm]="Slurm" [sshd]="sshd (ssh login node)")
declare -A pids=()
started=()   # services whose up script ran (also if it failed: its down script cleans up)

comm_is() { [[ -n ${1:-} && $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]; }
# already_up SERVICE: its up script ran before and its main daemon still runs.
already_up() {
    case $1 in
        docker) comm_is "$(cat "$NRUN_IT_DIR/docker/dockerd.pid" 2>/dev/null)" dockerd ;;
        slurm) comm_is "$(cat "$NRUN_IT_DIR/slurm/pids/slurmctld.pid" 2>/dev/null)" slurmctld ;;
        sshd) comm_is "$(cat "$NRUN_IT_DIR/sshd/sshd.pid" 2>/dev/null)" sshd ;;
    esac
}

# shellcheck disable=SC2317  # called by the EXIT trap
stop() {
    local i s
    for ((i = ${#started[@]} - 1; i >= 0; i--)); do
        s=${started[i]}
        "$here/$s-down.sh" || echo "with-services: stopping ${what[$s]} failed" >&2
    done
}
trap stop EXIT
# Let the EXIT trap run on a signal too, and end with the signal's usual status.
trap 'exit 130' INT
trap 'exit 143' TERM

for s in "${services[@]}"; do
    if already_up "$s"; then
        echo "with-services: ${what[$s]} was already running: checking it, will leave it running" >&2
    else
        started+=("$s")
    fi
    "$here/$s-up.sh" &
    pids[$s]=$!
done
# The tools the tests drive (no daemon: nothing to stop): Graphviz's dot lays out the lineage
# and report graphs, Debian's Chromium loads the HTML pages headless, tmux is the real terminal
# of `nrun experiment watch`'s test. Installed beside the services (apt takes turns).
tools=(graphviz chromium tmux)
if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    "$here/apt-install.sh" "$NRUN_IT_DIR/tools-apt.log" "${tools[@]}" &
    tools_pid=$!
else
    tools_pid=
fi
for s in "${services[@]}"; do
    wait "${pids[$s]}"
    rc=$?
    if ((rc != 0)); then
        echo "with-services: WARNING: ${what[$s]} could not start (exit $rc, see above); its tests will be skipped" >&2
    fi
done

if [[ -n $tools_pid ]] && ! wait "$tools_pid"; then
    echo "with-services: WARNING: installing ${tools[*]} failed (see $NRUN_IT_DIR/tools-apt.log); the tests that need them fail" >&2
fi

"$@"
rc=$?
exit "$rc"
