#!/usr/bin/env bash
# Stop the dockerd that docker-up.sh started (by the pid it recorded): SIGTERM, wait, SIGKILL
# after 20 s. A daemon docker-up.sh found already running ("reused") is left alone.
# Idempotent: nothing to stop is not an error. Same NRUN_IT_DIR as docker-up.sh.
set -euo pipefail

log() { echo "docker-down: $*" >&2; }

NRUN_IT_DIR=${NRUN_IT_DIR:-/tmp/nrun-it}
STATE=$NRUN_IT_DIR/docker
PIDFILE=$STATE/dockerd.pid
OWNER=$STATE/owner
SOCK=/var/run/docker.sock
KILL_AFTER=20

if [[ ! -d $STATE ]]; then
    log "no state in $STATE: nothing to stop"
    exit 0
fi
exec 9>"$STATE/lock"
flock 9

comm_is() { [[ -n ${1:-} && $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]; }

# stop_pid PID NAME: TERM, wait up to KILL_AFTER s, then KILL; returns 0 if it had to KILL.
stop_pid() {
    local pid=$1 name=$2 i
    kill -TERM "$pid" 2>/dev/null || return 1
    for ((i = 0; i < KILL_AFTER * 10; i++)); do
        comm_is "$pid" "$name" || return 1
        sleep 0.1
    done
    log "$name (pid $pid) still running after ${KILL_AFTER}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do comm_is "$pid" "$name" || break; sleep 0.1; done
    return 0
}

if [[ $(cat "$OWNER" 2>/dev/null) == reused ]]; then
    log "the running dockerd was not started by docker-up.sh: leaving it alone"
    rm -f "$OWNER"
    exit 0
fi

pid=$(cat "$PIDFILE" 2>/dev/null || true)
if ! comm_is "$pid" dockerd; then
    log "dockerd from docker-up.sh is not running"
    rm -f "$PIDFILE" "$OWNER"
    exit 0
fi

t0=$(date +%s%N)
if stop_pid "$pid" dockerd; then
    # dockerd had no chance to stop its containerd; stop that one too (only if it is ours).
    cpid=$(cat "$STATE/containerd.pid" 2>/dev/null || true)
    if comm_is "$cpid" containerd; then
        stop_pid "$cpid" containerd || true
    fi
    # A killed dockerd leaves its socket behind; remove it if nothing answers on it.
    if [[ -S $SOCK ]] && ! timeout 5 /usr/bin/docker -H "unix://$SOCK" info >/dev/null 2>&1; then
        rm -f "$SOCK"
    fi
fi
# dockerd bind-mounts its data root onto itself (to make it shared) and undoes that only on a
# clean shutdown; after a SIGKILL the mount stays and later daemons keep it. Drop it here.
if awk -v d="$STATE/data" '$2 == d {found = 1} END {exit !found}' /proc/mounts; then
    umount "$STATE/data" 2>/dev/null || umount -l "$STATE/data" || log "could not unmount $STATE/data"
fi
rm -f "$PIDFILE" "$OWNER" "$STATE/containerd.pid"
log "stopped dockerd (pid $pid) in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
