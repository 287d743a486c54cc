#!/usr/bin/env bash
# Stop what slurm-up.sh started, in reverse order (slurmd node2, node1, slurmctld, slurmdbd,
# mariadbd, munged), by the pids it recorded: SIGTERM, wait, SIGKILL after 20 s. Jobs still
# queued or running are cancelled first so no slurmstepd is left behind. Daemons slurm-up.sh
# found already running ("reused" munged) are left alone. Removes the /etc/slurm/slurm.conf
# symlink if it points at our config. Idempotent. Same NRUN_IT_DIR as slurm-up.sh.
# The state (job history, accounting DB) stays in $NRUN_IT_DIR/slurm; delete it to start afresh.
set -euo pipefail

log() { echo "slurm-down: $*" >&2; }

NRUN_IT_DIR=${NRUN_IT_DIR:-/tmp/nrun-it}
STATE=$NRUN_IT_DIR/slurm
PIDS=$STATE/pids
CONF=$STATE/etc/slurm.conf
SYS_CONF=/etc/slurm/slurm.conf
KILL_AFTER=20
export SLURM_CONF=$CONF

if [[ ! -d $PIDS ]]; then
    log "no state in $STATE: nothing to stop"
    exit 0
fi
exec 9>"$STATE/lock"
flock 9

t0=$(date +%s%N)
# comm_is PID COMM: PID is a live (not zombie) process named COMM. A daemon that exited stays a
# zombie until whoever adopted it reaps it, and a zombie still shows its comm.
comm_is() {
    [[ -n ${1:-} && $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]] || return 1
    [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]
}

# stop NAME COMM: stop the daemon recorded in $PIDS/NAME.pid if it is still COMM.
stopped=()
stop() {
    local name=$1 comm=$2 pid i t
    t=$(date +%s%N)
    pid=$(cat "$PIDS/$name.pid" 2>/dev/null || true)
    rm -f "$PIDS/$name.pid"
    comm_is "$pid" "$comm" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < KILL_AFTER * 10; i++)); do
        comm_is "$pid" "$comm" || { stopped+=("$name($(( ($(date +%s%N) - t) / 1000000 ))ms)"); return 0; }
        sleep 0.1
    done
    log "$name (pid $pid) still running after ${KILL_AFTER}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do comm_is "$pid" "$comm" || break; sleep 0.1; done
    stopped+=("$name(killed)")
}

# Cancel every job of our cluster while slurmctld and the slurmds still run, so their
# slurmstepds end cleanly.
if comm_is "$(cat "$PIDS/slurmctld.pid" 2>/dev/null || true)" slurmctld; then
    jobs=$(timeout 10 squeue -h -o %A 2>/dev/null || true)
    if [[ -n $jobs ]]; then
        log "cancelling jobs: $(tr '\n' ' ' <<<"$jobs")"
        # shellcheck disable=SC2086
        timeout 10 scancel $jobs 2>/dev/null || true
        for ((i = 0; i < 150; i++)); do
            [[ -z $(timeout 5 squeue -h -o %A 2>/dev/null) ]] && break
            sleep 0.1
        done
    fi
fi

stop slurmd-node2 slurmd
stop slurmd-node1 slurmd
stop slurmctld slurmctld
stop slurmdbd slurmdbd
stop mariadbd mariadbd
stop munged munged

if [[ -L $SYS_CONF && $(readlink "$SYS_CONF") == "$CONF" ]]; then
    rm -f "$SYS_CONF"
fi
log "stopped ${stopped[*]:-nothing} in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
