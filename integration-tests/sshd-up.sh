#!/usr/bin/env bash
# Start an sshd "login node" on 127.0.0.1:2222 for the integration tests, with its own config,
# ed25519 host key and pid file, key-only auth, and a test user `nrun` whose client key pair and
# a matching known_hosts file are written to the state dir. Idempotent: a second run reuses a
# running sshd of ours and the existing keys.
#
# Facts this follows (shared/notes/services.md, "sshd as a login node"): no syslog here (-E
# LOGFILE), /run/sshd must exist, `UsePAM no` refuses locked accounts even for key login (so
# the user gets password '*', i.e. no password but not locked), and authorized_keys under /tmp
# fails StrictModes (so it lives in the user's home).
#
# Environment:
#   NRUN_IT_DIR          state root (default /tmp/nrun-it); files under $NRUN_IT_DIR/sshd:
#                        sshd_config, host key, sshd.pid, sshd.log, client key id_ed25519(.pub),
#                        known_hosts
#   NRUN_IT_SSH_PORT     port on 127.0.0.1 (default 2222)
#   NRUN_IT_SSH_USER     test user (default nrun)
#   NRUN_IT_SSHD_TIMEOUT seconds to wait for sshd to accept a login (default 30)
#
# sshd-down.sh stops the sshd again (only the one this script started). The user stays.
set -euo pipefail

t0=$(date +%s%N)
elapsed() { echo "$(( ($(date +%s%N) - ${1:-$t0}) / 1000000 ))" | awk '{printf "%.1f", $1/1000}'; }
log() { echo "sshd-up: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root"

NRUN_IT_DIR=${NRUN_IT_DIR:-/tmp/nrun-it}
STATE=$NRUN_IT_DIR/sshd
PORT=${NRUN_IT_SSH_PORT:-2222}
USER_=${NRUN_IT_SSH_USER:-nrun}
TIMEOUT=${NRUN_IT_SSHD_TIMEOUT:-30}
CONFIG=$STATE/sshd_config
HOSTKEY=$STATE/ssh_host_ed25519_key
PIDFILE=$STATE/sshd.pid
LOGFILE=$STATE/sshd.log
CLIENT_KEY=$STATE/id_ed25519
KNOWN=$STATE/known_hosts

mkdir -p "$NRUN_IT_DIR" "$STATE"
chmod 755 "$NRUN_IT_DIR" 2>/dev/null || true
chmod 700 "$STATE"
exec 9>"$STATE/lock"
flock 9

# ---------------------------------------------------------------- packages
# python3: the tests run /usr/bin/python3 as the test user over ssh (a CI image may only have a
# Python under /usr/local or pyenv).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkgs=(openssh-server openssh-client)
[[ -x /usr/bin/python3 ]] || pkgs+=(python3)
NRUN_IT_DIR=$NRUN_IT_DIR "$here/apt-install.sh" "$STATE/apt.log" "${pkgs[@]}" 9>&- ||
    die "could not install ${pkgs[*]}"

# ---------------------------------------------------------------- user and keys
# slurm-up.sh creates the same user if it runs first (and gives it a Slurm association); they
# may run at the same time, so a useradd that loses the race is fine.
if ! id "$USER_" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash "$USER_" 2>/dev/null || id "$USER_" >/dev/null 2>&1 ||
        die "could not create user $USER_"
    log "created user $USER_"
fi
# useradd leaves the account locked ('!'); with UsePAM no sshd then refuses even key logins.
[[ $(getent shadow "$USER_" | cut -d: -f2) == '*' ]] || usermod -p '*' "$USER_"
HOME_=$(getent passwd "$USER_" | cut -d: -f6)
[[ -d $HOME_ ]] || { mkdir -p "$HOME_"; chown "$USER_:" "$HOME_"; }

[[ -s $HOSTKEY ]] || ssh-keygen -q -t ed25519 -N '' -C "nrun-it-host" -f "$HOSTKEY"
if [[ ! -s $CLIENT_KEY || ! -s $CLIENT_KEY.pub ]]; then
    rm -f "$CLIENT_KEY" "$CLIENT_KEY.pub"
    ssh-keygen -q -t ed25519 -N '' -C "nrun-it-client" -f "$CLIENT_KEY"
fi
# The client key is for the tests, which may run as another user than root: readable by all
# is fine for a throwaway loopback-only test key, but ssh insists on 600 for its owner.
chmod 600 "$CLIENT_KEY"
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$HOSTKEY.pub")" >"$KNOWN.tmp"
mv "$KNOWN.tmp" "$KNOWN"
chmod 644 "$KNOWN"

install -d -m 700 -o "$USER_" -g "$(id -gn "$USER_")" "$HOME_/.ssh"
AUTH=$HOME_/.ssh/authorized_keys
if ! grep -qxF "$(cat "$CLIENT_KEY.pub")" "$AUTH" 2>/dev/null; then
    cat "$CLIENT_KEY.pub" >>"$AUTH"
fi
chown "$USER_:" "$AUTH"
chmod 600 "$AUTH"

# ---------------------------------------------------------------- config
new_config=$(cat <<EOF
# Written by integration-tests/sshd-up.sh; rewritten on every run.
ListenAddress 127.0.0.1:$PORT
HostKey $HOSTKEY
PidFile $PIDFILE
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers $USER_
AuthorizedKeysFile .ssh/authorized_keys
StrictModes yes
X11Forwarding no
PrintMotd no
UseDNS no
AcceptEnv LANG LC_*
MaxStartups 100:30:200
MaxSessions 50
Subsystem sftp internal-sftp
EOF
)
config_changed=
if [[ $(cat "$CONFIG" 2>/dev/null) != "$new_config" ]]; then
    printf '%s\n' "$new_config" >"$CONFIG"
    config_changed=1
fi
chmod 600 "$CONFIG"
mkdir -p /run/sshd
chmod 755 /run/sshd
/usr/sbin/sshd -t -f "$CONFIG" || die "sshd -t rejects $CONFIG"

# ---------------------------------------------------------------- daemon
# port_busy PORT: something listens on TCP PORT (any address). From /proc: `ss` (iproute2) is
# not on a minimal image.
port_busy() {
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p {found = 1} END {exit !found}' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
is_ours() { [[ -n ${1:-} && $(cat "/proc/$1/comm" 2>/dev/null) == sshd ]] &&
    tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "-f $CONFIG"; }
login_ok() {
    ssh -n -i "$CLIENT_KEY" -o UserKnownHostsFile="$KNOWN" -o StrictHostKeyChecking=yes \
        -o BatchMode=yes -o ConnectTimeout=5 -o IdentitiesOnly=yes -F /dev/null \
        -p "$PORT" "$USER_@127.0.0.1" true
}

pid=$(cat "$PIDFILE" 2>/dev/null || true)
if is_ours "$pid"; then
    if [[ -n $config_changed ]]; then kill -HUP "$pid"; sleep 0.3; fi
    how="ours, already running, pid $pid"
else
    rm -f "$PIDFILE"
    port_busy "$PORT" && die "port $PORT is taken by a process we did not start"
    t=$(date +%s%N)
    echo "=== $(date -Is) starting sshd" >>"$LOGFILE"
    # sshd daemonizes itself and writes PidFile; -E sends its log to our file.
    /usr/sbin/sshd -f "$CONFIG" -E "$LOGFILE" 9>&-
    for _ in $(seq 50); do [[ -s $PIDFILE ]] && break; sleep 0.1; done
    pid=$(cat "$PIDFILE" 2>/dev/null || true)
    is_ours "$pid" || { tail -n 20 "$LOGFILE" >&2; die "sshd did not start; log: $LOGFILE"; }
    how="started pid $pid in $(elapsed "$t") s"
fi

deadline=$(( $(date +%s) + TIMEOUT ))
until login_ok 2>"$STATE/login.err"; do
    if (( $(date +%s) >= deadline )); then
        cat "$STATE/login.err" >&2
        tail -n 20 "$LOGFILE" >&2
        die "no key login as $USER_ on 127.0.0.1:$PORT within ${TIMEOUT}s; log: $LOGFILE"
    fi
    sleep 0.2
done

log "client key: $CLIENT_KEY"
log "known_hosts: $KNOWN"
log "try: ssh -i $CLIENT_KEY -o UserKnownHostsFile=$KNOWN -o StrictHostKeyChecking=yes -p $PORT $USER_@127.0.0.1 squeue"
echo "sshd-up: sshd on 127.0.0.1:$PORT ($how), user $USER_, key $CLIENT_KEY, known_hosts $KNOWN; $(elapsed) s"
