#!/usr/bin/env bash
# Stop the sshd that sshd-up.sh started (by its PidFile, checked against its -f CONFIG so a
# system sshd is never touched): SIGTERM, wait, SIGKILL after 10 s. Sessions already open
# (children of the listener) are ended too. The test user, its authorized_keys and the keys in
# the state dir stay, so the next sshd-up.sh is fast. Idempotent. Same NRUN_IT_DIR as sshd-up.sh.
set -euo pipefail

log() { echo "sshd-down: $*" >&2; }

NRUN_IT_DIR=${NRUN_IT_DIR:-/tmp/nrun-it}
STATE=$NRUN_IT_DIR/sshd
CONFIG=$STATE/sshd_config
PIDFILE=$STATE/sshd.pid
KILL_AFTER=10

if [[ ! -d $STATE ]]; then
    log "no state in $STATE: nothing to stop"
    exit 0
fi
exec 9>"$STATE/lock"
flock 9

is_ours() { [[ -n ${1:-} && $(cat "/proc/$1/comm" 2>/dev/null) == sshd ]] &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "-f $CONFIG"; }

pid=$(cat "$PIDFILE" 2>/dev/null || true)
if ! is_ours "$pid"; then
    log "sshd from sshd-up.sh is not running"
    rm -f "$PIDFILE"
    exit 0
fi
t0=$(date +%s%N)
# Open sessions are per-connection sshd processes whose parent is the listener.
# From /proc: `ps` (procps) is not on a minimal image. Field 4 of stat is the parent pid; the
# comm before it is in parentheses and may hold spaces, so cut after the last ')'.
children=$(for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    read -r _state ppid _ <<<"${line##*) }"
    if [[ $ppid == "$pid" ]]; then d=${f%/stat}; echo "${d#/proc/}"; fi
done)
kill -TERM "$pid" 2>/dev/null || true
for c in $children; do
    if [[ $(cat "/proc/$c/comm" 2>/dev/null) == sshd ]]; then kill -TERM "$c" 2>/dev/null || true; fi
done
for ((i = 0; i < KILL_AFTER * 10; i++)); do
    is_ours "$pid" || break
    sleep 0.1
done
if is_ours "$pid"; then
    log "sshd (pid $pid) still running after ${KILL_AFTER}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$PIDFILE"
log "stopped sshd (pid $pid) in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
