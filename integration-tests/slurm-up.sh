#!/usr/bin/env bash
# Start a real Slurm 22.05 cluster on this host for the integration tests: munged, MariaDB
# (unix socket only), slurmdbd, slurmctld and two slurmd nodes (node1, node2), with accounting
# so `sacct` works. Idempotent: a second run only starts what is missing.
#
# Facts this follows (shared/notes/services.md, "Slurm 22.05"): no systemd and no cgroups here,
# so proctrack/linuxproc + task/none and no cgroup.conf; two nodes on one host with
# `slurmd -N`; hetjobs are started only by backfill, hence bf_interval=1.
# SchedulerParameters deliberately has no kill_invalid_depend: a dependent of a failed job stays
# PENDING (DependencyNeverSatisfied) and the executor has to cope with that.
#
# Files: everything under $NRUN_IT_DIR/slurm (etc/ configs, log/, run/, pids/, mysql/ data).
# The daemons get SLURM_CONF=$NRUN_IT_DIR/slurm/etc/slurm.conf. Client tools (sbatch, squeue,
# sacct...) of any user read /etc/slurm/slurm.conf, so that is made a symlink to our config
# (only if no other slurm.conf is there; an existing foreign one is an error).
# munged uses the system defaults (/etc/munge/munge.key, /run/munge/munge.socket.2) because
# every client looks there. MariaDB uses its own data dir but Debian's default socket
# /run/mysqld/mysqld.sock, since slurmdbd's StorageHost=localhost connects there.
#
# Environment:
#   NRUN_IT_DIR                 state root (default /tmp/nrun-it)
#   NRUN_IT_SLURM_TIMEOUT       seconds to wait for each step to become ready (default 60)
#   NRUN_IT_SLURM_CLUSTER       cluster name (default nrunit)
#   NRUN_IT_SLURMCTLD_PORT, NRUN_IT_SLURMDBD_PORT, NRUN_IT_SLURMD_PORT1/2
#                               (defaults 16817, 16819, 17001, 17002)
#   NRUN_IT_SSH_USER            the ssh test user (default nrun, as in sshd-up.sh): created here
#                               too if missing (useradd, home /home/USER) and given an
#                               accounting association (account root), so the jobs it submits
#                               over ssh are accounted whichever of slurm-up/sshd-up runs first
#
# slurm-down.sh stops, in reverse order, exactly the daemons this script started (by pid).
set -euo pipefail

t0=$(date +%s%N)
elapsed() { echo "$(( ($(date +%s%N) - ${1:-$t0}) / 1000000 ))" | awk '{printf "%.1f", $1/1000}'; }
log() { echo "slurm-up: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root"

NRUN_IT_DIR=${NRUN_IT_DIR:-/tmp/nrun-it}
STATE=$NRUN_IT_DIR/slurm
TIMEOUT=${NRUN_IT_SLURM_TIMEOUT:-60}
CLUSTER=${NRUN_IT_SLURM_CLUSTER:-nrunit}
CTLD_PORT=${NRUN_IT_SLURMCTLD_PORT:-16817}
DBD_PORT=${NRUN_IT_SLURMDBD_PORT:-16819}
NODE_PORTS=("${NRUN_IT_SLURMD_PORT1:-17001}" "${NRUN_IT_SLURMD_PORT2:-17002}")
NODES=(node1 node2)
TEST_USER=${NRUN_IT_SSH_USER:-nrun}
HOST=$(hostname -s)

ETC=$STATE/etc
CONF=$ETC/slurm.conf
DBDCONF=$ETC/slurmdbd.conf
LOGDIR=$STATE/log
RUN=$STATE/run
PIDS=$STATE/pids          # <name>.pid: pid of a daemon this script started
MYDATA=$STATE/mysql
MYSOCK=/run/mysqld/mysqld.sock
MYRUN=$STATE/mysql-run     # mariadbd (user mysql) writes its pid file and error log here
SYS_CONF=/etc/slurm/slurm.conf
export SLURM_CONF=$CONF

# Keep the state dir reachable for other users (the ssh test user reads slurm.conf).
mkdir -p "$NRUN_IT_DIR" "$STATE"
chmod 755 "$NRUN_IT_DIR" "$STATE" 2>/dev/null || true
mkdir -p "$ETC" "$LOGDIR" "$RUN" "$PIDS" "$STATE/ctld" "$STATE/spool"
exec 9>"$STATE/lock"
flock 9  # one slurm-up/slurm-down at a time

# ---------------------------------------------------------------- packages
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NRUN_IT_DIR=$NRUN_IT_DIR "$here/apt-install.sh" "$STATE/apt.log" slurm-wlm munge slurmdbd mariadb-server 9>&- ||
    die "could not install the Slurm packages"

# ---------------------------------------------------------------- helpers
# comm_is PID COMM: PID is a live (not zombie) process named COMM. A daemon that exited stays a
# zombie until whoever adopted it reaps it, and a zombie still shows its comm.
comm_is() {
    [[ -n ${1:-} && $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]] || return 1
    [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]
}
# our_pid NAME COMM: the recorded pid if it is alive and is COMM, else empty (and forget it).
our_pid() {
    local pid
    pid=$(cat "$PIDS/$1.pid" 2>/dev/null || true)
    if comm_is "$pid" "$2"; then echo "$pid"; else rm -f "$PIDS/$1.pid"; fi
}
# wait_for PID DESC LOGFILE CMD...: poll CMD until it succeeds; fail if PID dies or on timeout.
wait_for() {
    local pid=$1 desc=$2 logf=$3 deadline=$(( $(date +%s) + TIMEOUT ))
    shift 3
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            [[ -r $logf ]] && tail -n 30 "$logf" >&2
            die "$desc exited during start; log: $logf"
        fi
        if (( $(date +%s) >= deadline )); then
            [[ -r $logf ]] && tail -n 30 "$logf" >&2
            die "$desc not ready within ${TIMEOUT}s; log: $logf (stop with slurm-down.sh)"
        fi
        sleep 0.1
    done
}
# spawn NAME CMD...: start CMD in its own session, in the background, record its pid.
spawn() {
    local name=$1
    shift
    echo "=== $(date -Is) starting: $*" >>"$LOGDIR/$name.out"
    setsid "$@" </dev/null >>"$LOGDIR/$name.out" 2>&1 9>&- &  # 9>&-: not our lock
    echo $! >"$PIDS/$name.pid"
    echo $!
}
# port_busy PORT: something listens on TCP PORT (any address). From /proc: `ss` (iproute2) is
# not on a minimal image.
port_busy() {
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p {found = 1} END {exit !found}' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

summary=()

# ---------------------------------------------------------------- munge
munge_ok() { munge -n | unmunge; }
pid=$(our_pid munged munged)
if [[ -n $pid ]]; then
    wait_for "$pid" munged /var/log/munge/munged.log munge_ok
    summary+=("munged ours")
elif munge_ok >/dev/null 2>&1; then
    summary+=("munged reused")
else
    t=$(date +%s%N)
    if [[ ! -s /etc/munge/munge.key ]]; then
        mkdir -p /etc/munge
        mungekey --create --keyfile=/etc/munge/munge.key
    fi
    chown munge:munge /etc/munge /etc/munge/munge.key
    chmod 700 /etc/munge
    chmod 600 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    chmod 755 /run/munge
    pid=$(spawn munged setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground)
    wait_for "$pid" munged /var/log/munge/munged.log munge_ok
    summary+=("munged started $(elapsed "$t")s")
fi

# ---------------------------------------------------------------- MariaDB
my_ok() { mariadb --no-defaults -S "$MYSOCK" -u root -N -e 'select 1'; }
DBPASS_FILE=$STATE/dbpass
[[ -s $DBPASS_FILE ]] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$DBPASS_FILE")
DBPASS=$(cat "$DBPASS_FILE")
pid=$(our_pid mariadbd mariadbd)
if [[ -n $pid ]]; then
    wait_for "$pid" mariadbd "$MYRUN/mariadb.err" my_ok
    summary+=("mariadb ours")
else
    [[ -S $MYSOCK ]] && my_ok >/dev/null 2>&1 &&
        die "a MariaDB we did not start answers on $MYSOCK; stop it first (we need that socket)"
    t=$(date +%s%N)
    if [[ ! -d $MYDATA/mysql ]]; then
        rm -rf "$MYDATA"
        mkdir -p "$MYDATA"
        chown mysql:mysql "$MYDATA"
        mariadb-install-db --no-defaults --user=mysql --datadir="$MYDATA" --auth-root-authentication-method=socket \
            --skip-test-db >"$LOGDIR/mariadb-install.log" 2>&1 ||
            { tail -n 20 "$LOGDIR/mariadb-install.log" >&2; rm -rf "$MYDATA"; die "mariadb-install-db failed"; }
    fi
    mkdir -p /run/mysqld "$MYRUN"
    chown mysql /run/mysqld "$MYRUN"
    rm -f "$MYSOCK"
    pid=$(spawn mariadbd /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$MYDATA" \
        --socket="$MYSOCK" --pid-file="$MYRUN/mariadbd.pid" --log-error="$MYRUN/mariadb.err" \
        --skip-networking --innodb-buffer-pool-size=64M)
    wait_for "$pid" mariadbd "$MYRUN/mariadb.err" my_ok
    summary+=("mariadb started $(elapsed "$t")s")
fi
mariadb --no-defaults -S "$MYSOCK" -u root <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
SQL

# ---------------------------------------------------------------- configs
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 / 4)}' /proc/meminfo)  # per node: a quarter of RAM
new_conf=$(cat <<EOF
# Written by integration-tests/slurm-up.sh; rewritten on every run.
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1
SlurmdParameters=config_overrides
ReturnToService=2
MailProg=/bin/true
MinJobAge=3600
KillWait=5
InactiveLimit=0
Waittime=0
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool/%n
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd-%n.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
JobCompType=jobcomp/filetxt
JobCompLoc=$LOGDIR/jobcomp.txt
NodeName=${NODES[0]} NodeHostname=$HOST NodeAddr=127.0.0.1 Port=${NODE_PORTS[0]} CPUs=$cpus RealMemory=$mem State=UNKNOWN
NodeName=${NODES[1]} NodeHostname=$HOST NodeAddr=127.0.0.1 Port=${NODE_PORTS[1]} CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=${NODES[0]},${NODES[1]} Default=YES MaxTime=INFINITE State=UP
EOF
)
new_dbd=$(cat <<EOF
# Written by integration-tests/slurm-up.sh; rewritten on every run.
AuthType=auth/munge
DbdAddr=127.0.0.1
DbdHost=$HOST
DbdPort=$DBD_PORT
SlurmUser=root
LogFile=$LOGDIR/slurmdbd.log
PidFile=$RUN/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=$DBPASS
StorageLoc=slurm_acct_db
EOF
)
conf_changed=
if [[ $(cat "$CONF" 2>/dev/null) != "$new_conf" ]]; then
    printf '%s\n' "$new_conf" >"$CONF.tmp" && chmod 644 "$CONF.tmp" && mv "$CONF.tmp" "$CONF"
    conf_changed=1
fi
chmod 755 "$ETC"
(umask 077; printf '%s\n' "$new_dbd" >"$DBDCONF.tmp")
chmod 600 "$DBDCONF.tmp"
mv "$DBDCONF.tmp" "$DBDCONF"
rm -f "$ETC/cgroup.conf"  # task/none + linuxproc: no cgroups here

# /etc/slurm/slurm.conf -> our config, for client tools of every user.
mkdir -p /etc/slurm
if [[ -L $SYS_CONF ]]; then
    [[ $(readlink "$SYS_CONF") == "$CONF" ]] || ln -sfn "$CONF" "$SYS_CONF"
elif [[ -e $SYS_CONF ]]; then
    die "$SYS_CONF exists and is not ours; move it away (we link it to $CONF)"
else
    ln -s "$CONF" "$SYS_CONF"
fi

# ---------------------------------------------------------------- slurmdbd
dbd_ok() { sacctmgr -n -P list cluster; }
pid=$(our_pid slurmdbd slurmdbd)
if [[ -n $pid ]]; then
    wait_for "$pid" slurmdbd "$LOGDIR/slurmdbd.log" dbd_ok
    summary+=("slurmdbd ours")
else
    port_busy "$DBD_PORT" && die "port $DBD_PORT (DbdPort) is taken by a process we did not start"
    t=$(date +%s%N)
    pid=$(spawn slurmdbd /usr/sbin/slurmdbd -D)
    wait_for "$pid" slurmdbd "$LOGDIR/slurmdbd.log" dbd_ok
    summary+=("slurmdbd started $(elapsed "$t")s")
fi
if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
    sacctmgr -i add cluster "$CLUSTER" >/dev/null
fi

# ---------------------------------------------------------------- test user
# The ssh test user (sshd-up.sh) submits jobs too. Both scripts create it if missing, so the
# order does not matter (they may run at the same time: a useradd that loses the race is fine).
if ! id "$TEST_USER" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$TEST_USER" 2>/dev/null || id "$TEST_USER" >/dev/null 2>&1 ||
        die "could not create user $TEST_USER"
    log "created user $TEST_USER"
fi
if [[ -z $(sacctmgr -n -P list assoc cluster="$CLUSTER" user="$TEST_USER" format=user) ]]; then
    sacctmgr -i add user "$TEST_USER" account=root cluster="$CLUSTER" >/dev/null
    summary+=("association $TEST_USER/root added")
fi

# ---------------------------------------------------------------- slurmctld
ctld_ok() { scontrol ping | grep -q 'is UP'; }
pid=$(our_pid slurmctld slurmctld)
if [[ -n $pid ]]; then
    if [[ -n $conf_changed ]]; then scontrol reconfigure >/dev/null || true; fi
    wait_for "$pid" slurmctld "$LOGDIR/slurmctld.log" ctld_ok
    summary+=("slurmctld ours")
else
    port_busy "$CTLD_PORT" && die "port $CTLD_PORT (SlurmctldPort) is taken by a process we did not start"
    t=$(date +%s%N)
    pid=$(spawn slurmctld /usr/sbin/slurmctld -D -i)
    wait_for "$pid" slurmctld "$LOGDIR/slurmctld.log" ctld_ok
    summary+=("slurmctld started $(elapsed "$t")s")
fi

# ---------------------------------------------------------------- slurmd node1, node2
t=$(date +%s%N)
started_nodes=()
for i in 0 1; do
    n=${NODES[$i]}
    pid=$(our_pid "slurmd-$n" slurmd)
    [[ -n $pid ]] && continue
    port_busy "${NODE_PORTS[$i]}" && die "port ${NODE_PORTS[$i]} ($n) is taken by a process we did not start"
    mkdir -p "$STATE/spool/$n"
    spawn "slurmd-$n" /usr/sbin/slurmd -D -N "$n" >/dev/null
    started_nodes+=("$n")
done
nodes_idle() {
    local st
    st=$(sinfo -h -N -o '%N %T' 2>/dev/null)
    # idle on a fresh start; a rerun while jobs run finds them busy, which is fine too.
    for n in "${NODES[@]}"; do grep -Eq "^$n (idle|mixed|allocated|completing)\$" <<<"$st" || return 1; done
}
deadline=$(( $(date +%s) + TIMEOUT ))
until nodes_idle; do
    for n in "${NODES[@]}"; do
        pid=$(cat "$PIDS/slurmd-$n.pid" 2>/dev/null || true)
        if ! comm_is "$pid" slurmd; then
            tail -n 20 "$LOGDIR/slurmd-$n.log" "$LOGDIR/slurmd-$n.out" >&2 2>/dev/null || true
            die "slurmd -N $n is not running; log: $LOGDIR/slurmd-$n.log"
        fi
    done
    if (( $(date +%s) >= deadline )); then
        sinfo -N >&2 || true
        tail -n 20 "$LOGDIR/slurmctld.log" >&2
        die "nodes not idle within ${TIMEOUT}s (some may be busy with jobs: see sinfo)"
    fi
    sleep 0.1
done
if ((${#started_nodes[@]})); then
    summary+=("slurmd ${started_nodes[*]} started $(elapsed "$t")s")
else
    summary+=("slurmd ours")
fi

# ---------------------------------------------------------------- sacct answers
wait_for "" sacct "$LOGDIR/slurmdbd.log" sacct -n -X -S now-1minutes

echo "slurm-up: cluster $CLUSTER ready (SLURM_CONF=$CONF, linked from $SYS_CONF; ${summary[*]}); $(elapsed) s"
