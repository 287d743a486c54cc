#!/usr/bin/env bash
# Start a local Docker daemon for the integration tests and make sure the base image
# nrun-test-python:bookworm exists. Idempotent: a second run reuses what is there.
#
# Facts this follows (shared/notes/services.md, "Docker"): no bridge/iptables on these
# machines, no registry is reachable (so dockerd gets a loopback proxy that makes any pull
# fail at once), and the base image is built locally with debootstrap.
#
# Environment:
#   NRUN_IT_DIR     state root (default /tmp/nrun-it); dockerd's pidfile, data root, exec
#                   root and log go under $NRUN_IT_DIR/docker
#   NRUN_IT_CACHE   where the base-image tarball is cached (default ~/.cache/nrun-it, which
#                   outlives the state dir; a second build only re-imports it)
#   NRUN_IT_IMAGE   image name (default nrun-test-python:bookworm)
#   NRUN_IT_MIRROR  Debian mirror for debootstrap (default: read from apt's sources)
#   NRUN_IT_DOCKER_TIMEOUT  seconds to wait for the daemon to answer (default 60)
#
# docker-down.sh stops the daemon again, but only if this script started it.
set -euo pipefail

t0=$(date +%s%N)
elapsed() { echo "$(( ($(date +%s%N) - ${1:-$t0}) / 1000000 ))" | awk '{printf "%.1f", $1/1000}'; }
log() { echo "docker-up: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (dockerd, debootstrap)"

NRUN_IT_DIR=${NRUN_IT_DIR:-/tmp/nrun-it}
STATE=$NRUN_IT_DIR/docker
CACHE=${NRUN_IT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nrun-it}
IMAGE=${NRUN_IT_IMAGE:-nrun-test-python:bookworm}
SOCK=/var/run/docker.sock
SUITE=bookworm
READY_TIMEOUT=${NRUN_IT_DOCKER_TIMEOUT:-60}  # seconds to wait for `docker info`

mkdir -p "$STATE" "$CACHE"
exec 9>"$STATE/lock"
flock 9  # one docker-up/docker-down at a time

# ---------------------------------------------------------------- packages
# apt-install.sh keeps the package's init script from starting a default dockerd (bridge +
# iptables) and serializes with the other *-up.sh scripts running in parallel.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NRUN_IT_DIR=$NRUN_IT_DIR "$here/apt-install.sh" "$STATE/apt.log" docker.io debootstrap 9>&- ||
    die "could not install docker.io debootstrap"

# Debian's client, which matches the 20.10 daemon (an unrelated docker CLI may be earlier in
# PATH), always pointed at the socket this script manages, whatever DOCKER_HOST says.
DOCKER_BIN=/usr/bin/docker
docker_() { env -u DOCKER_HOST -u DOCKER_CONTEXT "$DOCKER_BIN" -H "unix://$SOCK" "$@"; }
answers() { timeout 10 env -u DOCKER_HOST -u DOCKER_CONTEXT "$DOCKER_BIN" -H "unix://$SOCK" info >/dev/null 2>&1; }
is_dockerd() { [[ -n ${1:-} && -r /proc/$1/comm && $(cat "/proc/$1/comm" 2>/dev/null) == dockerd ]]; }

# ---------------------------------------------------------------- daemon
PIDFILE=$STATE/dockerd.pid
LOGFILE=$STATE/dockerd.log
OWNER=$STATE/owner          # "ours" or "reused"
DRIVER_FILE=$STATE/storage-driver

our_pid=
if [[ -s $PIDFILE ]] && is_dockerd "$(cat "$PIDFILE")"; then
    our_pid=$(cat "$PIDFILE")
fi

wait_ready() {  # wait_ready PID -> 0 ready, 1 process died, 2 timeout
    local pid=$1 deadline=$(( $(date +%s) + READY_TIMEOUT ))
    while (( $(date +%s) < deadline )); do
        answers && return 0
        [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null && return 1
        sleep 0.2
    done
    answers && return 0
    return 2
}

start_dockerd() {  # start_dockerd DRIVER -> prints pid
    local driver=$1
    mkdir -p "$STATE/data" "$STATE/exec"
    [[ -s $STATE/daemon.json ]] || echo '{}' >"$STATE/daemon.json"
    echo "=== $(date -Is) starting dockerd --storage-driver=$driver" >>"$LOGFILE"
    # HTTP(S)_PROXY on a closed loopback port: any pull fails at once instead of trying the
    # outside world. Own config file so a stray /etc/docker/daemon.json cannot interfere.
    env -u NO_PROXY -u no_proxy \
        HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
        http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
        setsid /usr/sbin/dockerd \
        --host "unix://$SOCK" \
        --config-file "$STATE/daemon.json" \
        --data-root "$STATE/data" \
        --exec-root "$STATE/exec" \
        --pidfile "$PIDFILE" \
        --iptables=false --ip-masq=false --ip-forward=false --bridge=none \
        --storage-driver="$driver" \
        --shutdown-timeout=10 \
        </dev/null >>"$LOGFILE" 2>&1 9>&- &  # 9>&-: the daemon must not inherit our lock
    echo $!
}

t_daemon=$(date +%s%N)
if [[ -n $our_pid ]]; then
    echo ours >"$OWNER"
    wait_ready "$our_pid" || { tail -n 30 "$LOGFILE" >&2; die "our dockerd (pid $our_pid) does not answer 'docker info'; see $LOGFILE"; }
    how="ours, already running, pid $our_pid"
elif answers; then
    echo reused >"$OWNER"
    rm -f "$PIDFILE"
    how="reused, not ours"
elif pgrep -x dockerd >/dev/null; then
    # Someone else's dockerd that is not answering yet (starting?): wait for it, never start a
    # second daemon on the same socket.
    log "a dockerd we did not start is running (pid $(pgrep -x dockerd | tr '\n' ' ')); waiting for it"
    wait_ready "" || die "a foreign dockerd is running but does not answer on $SOCK within ${READY_TIMEOUT}s"
    echo reused >"$OWNER"
    rm -f "$PIDFILE"
    how="reused, not ours"
else
    rm -f "$PIDFILE"
    drivers=(overlay2 vfs)
    [[ $(cat "$DRIVER_FILE" 2>/dev/null) == vfs ]] && drivers=(vfs)
    started=
    for driver in "${drivers[@]}"; do
        pid=$(start_dockerd "$driver")
        echo ours >"$OWNER"
        if wait_ready "$pid"; then
            rc=0
        else
            rc=$?
        fi
        if ((rc == 0)); then
            started=$driver
            break
        fi
        if ((rc == 2)); then
            [[ -s $PIDFILE ]] || echo "$pid" >"$PIDFILE"
            tail -n 30 "$LOGFILE" >&2
            die "dockerd (pid $pid, $driver) did not answer 'docker info' within ${READY_TIMEOUT}s; log: $LOGFILE (still running: stop it with docker-down.sh)"
        fi
        log "dockerd exited during start with --storage-driver=$driver; log tail:"
        tail -n 3 "$LOGFILE" >&2
        rm -f "$PIDFILE"
    done
    [[ -n $started ]] || { rm -f "$OWNER"; die "dockerd would not start with overlay2 or vfs; see $LOGFILE"; }
    echo "$started" >"$DRIVER_FILE"
    # dockerd writes its pidfile itself; trust it if it names a live dockerd, else record $!.
    for _ in $(seq 50); do [[ -s $PIDFILE ]] && break; sleep 0.1; done
    if is_dockerd "$(cat "$PIDFILE" 2>/dev/null)"; then pid=$(cat "$PIDFILE"); else echo "$pid" >"$PIDFILE"; fi
    cp "$STATE/exec/containerd/containerd.pid" "$STATE/containerd.pid" 2>/dev/null || true
    our_pid=$pid
    how="ours, started pid $pid, $started, in $(elapsed "$t_daemon") s"
fi

# ---------------------------------------------------------------- base image
mirror() {
    if [[ -n ${NRUN_IT_MIRROR:-} ]]; then echo "$NRUN_IT_MIRROR"; return; fi
    local m=
    if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
        # deb822: the first stanza of Types: deb whose Suites has the plain suite name.
        m=$(awk -v suite="$SUITE" '
            function flush() { if (!found && isdeb && hassuite && uri != "") { print uri; found = 1 }
                               isdeb = 0; hassuite = 0; uri = "" }
            /^[ \t]*$/ { flush(); next }
            /^#/ { next }
            tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") isdeb = 1 }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) hassuite = 1 }
            tolower($1) == "uris:" { uri = $2 }
            END { flush() }' /etc/apt/sources.list.d/debian.sources)
    fi
    if [[ -z $m && -r /etc/apt/sources.list ]]; then
        m=$(awk -v suite="$SUITE" '$1 == "deb" {
                i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite) { print $i; exit } }' /etc/apt/sources.list)
    fi
    echo "${m:-http://deb.debian.org/debian}"
}

TARBALL=$CACHE/python-base.tar
# Bump when the recipe below changes, so a cached tarball from an older recipe is rebuilt.
RECIPE="v1 debootstrap --variant=minbase --include=python3 $SUITE; stripped docs/man/locale/apt lists/caches"

build_tarball() {
    local mirror root t_deb t_tar
    mirror=$(mirror)
    root=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    # debootstrap mounts proc/sys inside the target; never leave them behind.
    cleanup_root() {
        awk -v r="$root" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r |
            while read -r mp; do umount -l "$mp" 2>/dev/null || true; done
        rm -rf --one-file-system "$root"
    }
    trap cleanup_root EXIT
    log "debootstrap $SUITE from $mirror (log: $CACHE/debootstrap.log)"
    t_deb=$(date +%s%N)
    if ! debootstrap --variant=minbase --include=python3 "$SUITE" "$root" "$mirror" >"$CACHE/debootstrap.log" 2>&1; then
        tail -n 20 "$CACHE/debootstrap.log" >&2
        [[ -r $root/debootstrap/debootstrap.log ]] && tail -n 20 "$root/debootstrap/debootstrap.log" >&2
        die "debootstrap failed"
    fi
    log "debootstrap took $(elapsed "$t_deb") s"
    rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
        "$root"/usr/share/locale/* "$root"/usr/share/lintian/* \
        "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old \
        "$root"/var/cache/ldconfig/* "$root"/var/log/* "$root"/tmp/* "$root"/debootstrap
    # A hostname/resolv.conf copied from this machine would only mislead; docker supplies both.
    : >"$root/etc/resolv.conf"
    echo localhost >"$root/etc/hostname"
    t_tar=$(date +%s%N)
    tar --numeric-owner -C "$root" -cf "$TARBALL.tmp" .
    mv "$TARBALL.tmp" "$TARBALL"
    echo "$RECIPE" >"$TARBALL.recipe"
    log "tarball $TARBALL ($(du -m "$TARBALL" | cut -f1) MB) in $(elapsed "$t_tar") s"
    cleanup_root
    trap - EXIT
}

if docker_ image inspect "$IMAGE" >/dev/null 2>&1; then
    img_how="present"
else
    if [[ ! -s $TARBALL || $(cat "$TARBALL.recipe" 2>/dev/null) != "$RECIPE" ]]; then
        build_tarball
        img_how="built"
    else
        img_how="re-imported from $TARBALL"
    fi
    t_imp=$(date +%s%N)
    docker_ import --change 'CMD ["python3"]' - "$IMAGE" <"$TARBALL" >/dev/null
    log "docker import took $(elapsed "$t_imp") s"
fi
image_id=$(docker_ image inspect --format '{{.Id}}' "$IMAGE")

# torch for the multi-container torchrun test, installed (CPU build, from this machine's disk)
# into a folder the test mounts into the containers; the image itself stays python3 only.
TORCH_DIR="$CACHE/torch-2.13.0"
if [[ ! -d $TORCH_DIR ]]; then
    t_torch=$(date +%s%N)
    if python3 -m pip install -q --disable-pip-version-check --target "$TORCH_DIR.tmp" \
        torch==2.13.0 >"$CACHE/torch-install.log" 2>&1; then
        mv "$TORCH_DIR.tmp" "$TORCH_DIR"
        log "torch installed for the containers in $TORCH_DIR in $(elapsed "$t_torch") s"
    else
        rm -rf "$TORCH_DIR.tmp"
        log "could not install torch for the containers (see $CACHE/torch-install.log)"
    fi
fi

echo "docker-up: daemon unix://$SOCK ($how); image $IMAGE $image_id ($img_how); $(elapsed) s"
