#!/usr/bin/env bash
# apt-install.sh LOGFILE PACKAGE...: install the Debian packages that are missing, for the
# *-up.sh scripts. Safe to run several at once (with-services.sh starts docker, slurm and sshd in
# parallel): one install at a time, under a lock of ours, then dpkg's own lock is waited for.
#
# - No package lists yet (a fresh machine or image): `apt-get update` first; stale lists (an
#   install fails, e.g. a 404 on an old version): update and retry once.
# - noninteractive, old config files kept, no recommends, stdin closed: never asks anything.
# - While it runs, /usr/sbin/policy-rc.d (exit 101) keeps the packages' postinst scripts from
#   starting their daemons (mariadb, munge, slurm*, ssh, docker); ours is removed afterwards,
#   also on failure. One that was already there is left alone.
# Prints one line (what it installed, how long) on stderr; apt's output goes to LOGFILE.
set -euo pipefail

log() { echo "apt-install: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

(($# >= 2)) || die "usage: apt-install.sh LOGFILE PACKAGE..."
[[ $EUID -eq 0 ]] || die "must run as root"
LOGFILE=$1
shift

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing() { local p; for p in "$@"; do pkg_installed "$p" || echo "$p"; done; }

[[ -n $(missing "$@") ]] || exit 0   # fast path, no lock

NRUN_IT_DIR=${NRUN_IT_DIR:-/tmp/nrun-it}
mkdir -p "$NRUN_IT_DIR" "$(dirname "$LOGFILE")"
exec 8>"$NRUN_IT_DIR/apt.lock"
flock 8
# Another script may have installed them while we waited.
mapfile -t todo < <(missing "$@")
((${#todo[@]})) || exit 0

t0=$(date +%s%N)
log "installing ${todo[*]} (log: $LOGFILE)"

POLICY=/usr/sbin/policy-rc.d
if [[ ! -e $POLICY ]]; then
    trap 'rm -f "$POLICY"' EXIT
    printf '#!/bin/sh\n# integration-tests/apt-install.sh: start no services while installing\nexit 101\n' >"$POLICY.nrun-it"
    chmod 755 "$POLICY.nrun-it"
    mv "$POLICY.nrun-it" "$POLICY"
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-q -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
update() { apt-get "${APT_OPTS[@]}" update </dev/null >>"$LOGFILE" 2>&1; }
apt_install() {
    apt-get "${APT_OPTS[@]}" -y --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        install "${todo[@]}" </dev/null >>"$LOGFILE" 2>&1
}

echo "=== $(date -Is) apt-install ${todo[*]}" >>"$LOGFILE"
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    log "no package lists: apt-get update"
    update || { tail -n 20 "$LOGFILE" >&2; die "apt-get update failed"; }
    apt_install || { tail -n 20 "$LOGFILE" >&2; die "apt-get install ${todo[*]} failed"; }
elif ! apt_install; then
    log "apt-get install failed; apt-get update and retrying"
    update || { tail -n 20 "$LOGFILE" >&2; die "apt-get update failed"; }
    apt_install || { tail -n 20 "$LOGFILE" >&2; die "apt-get install ${todo[*]} failed"; }
fi
log "installed ${todo[*]} in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
