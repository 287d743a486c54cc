"""SSHTunnel against the real login node: host keys, commands, files, reconnecting."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from nrun.exec.slurm import SSHTunnel, TunnelError


def test_commands_and_files_share_one_connection(ssh_tunnel: SSHTunnel, tmp_path: Path) -> None:
    """Commands, copies and reads all go over one connection, reused across calls."""
    before = ssh_tunnel.stats.connections
    home = ssh_tunnel.home()
    assert home == "/home/nrun"
    done = ssh_tunnel.run("mkdir -p nrun-tests && echo out; echo err >&2; exit 5")
    assert (done.returncode, done.stdout, done.stderr) == (5, "out\n", "err\n")
    assert done.first_error() == "err"
    local = tmp_path / "payload.bin"
    local.write_bytes(bytes(range(256)) * 100)
    remote = f"{ssh_tunnel.resolve(ssh_tunnel.job_dir)}/payload.bin"
    ssh_tunnel.run(f"mkdir -p {ssh_tunnel.resolve(ssh_tunnel.job_dir)}")
    ssh_tunnel.put(local, remote)
    assert ssh_tunnel.read(remote) == local.read_bytes()
    assert ssh_tunnel.read(remote, offset=25_500) == local.read_bytes()[25_500:]
    assert ssh_tunnel.read(remote + ".missing") is None
    assert ssh_tunnel.listdir(ssh_tunnel.resolve(ssh_tunnel.job_dir)) == ["payload.bin"]
    assert ssh_tunnel.listdir("/no/such/folder") == []
    assert ssh_tunnel.stats.connections - before <= 1


def test_resolve_puts_relative_paths_under_home(ssh_tunnel: SSHTunnel) -> None:
    """`x`, `~/x` and `/x` on the cluster."""
    assert ssh_tunnel.resolve("jobs") == "/home/nrun/jobs"
    assert ssh_tunnel.resolve("~/jobs/../runs") == "/home/nrun/runs"
    assert ssh_tunnel.resolve("/scratch/jobs") == "/scratch/jobs"


def _other_tunnel(login_node: dict[str, str | int], **changes: object) -> SSHTunnel:
    """The login node as `localhost`: a connection of its own, not the shared one."""
    known = Path(str(login_node["known_hosts"]))
    trusted = known.with_name("known_hosts.localhost")
    trusted.write_text(known.read_text().replace("[127.0.0.1]", "[localhost]"))
    fields = {**login_node, "host": "localhost", "known_hosts": str(trusted), **changes}
    return SSHTunnel(job_dir="nrun-tests", **fields)  # type: ignore[arg-type]


def test_unknown_host_key_is_refused(login_node: dict[str, str | int], tmp_path: Path) -> None:
    """A host missing from known_hosts: one line saying so and how to accept it."""
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    tunnel = _other_tunnel(login_node, known_hosts=str(empty), retries=0)
    with pytest.raises(TunnelError) as info:
        tunnel.run("true")
    message = str(info.value)
    assert "host key of localhost:2222 is not in" in message
    assert "accept_new_host_keys=True" in message
    assert "\n" not in message
    assert empty.read_text() == ""


def test_changed_host_key_is_refused_even_when_accepting_new_keys(
    login_node: dict[str, str | int], tmp_path: Path
) -> None:
    """A known host whose key changed is refused, whatever the options."""
    known = tmp_path / "known_hosts"
    other_key = tmp_path / "other"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True
    )
    kind, blob = other_key.with_suffix(".pub").read_text().split()[:2]
    known.write_text(f"[localhost]:2222 {kind} {blob}\n")
    tunnel = _other_tunnel(login_node, known_hosts=str(known), accept_new_host_keys=True)
    with pytest.raises(TunnelError, match=r"host key of localhost:2222 has CHANGED"):
        tunnel.run("true")


def test_accept_new_host_keys_trusts_and_saves(
    login_node: dict[str, str | int], tmp_path: Path
) -> None:
    """The explicit opt-in trusts a new host and records its key, which is checked after."""
    known = tmp_path / "ssh" / "known_hosts"
    tunnel = _other_tunnel(login_node, known_hosts=str(known), accept_new_host_keys=True)
    try:
        assert tunnel.run("echo hi").stdout == "hi\n"
    finally:
        tunnel.close()
    assert known.read_text().startswith("[localhost]:2222 ssh-ed25519 ")
    strict = dataclasses.replace(tunnel, accept_new_host_keys=False)
    try:
        assert strict.run("echo again").stdout == "again\n"
    finally:
        strict.close()


def test_failed_login_is_one_line(login_node: dict[str, str | int], tmp_path: Path) -> None:
    """A key the server does not accept: authentication failed, named."""
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    tunnel = _other_tunnel(login_node, identity=str(stranger))
    with pytest.raises(TunnelError, match=r"authentication as nrun@localhost:2222 failed"):
        tunnel.run("true")
    missing = _other_tunnel(login_node, identity=str(tmp_path / "nope"))
    with pytest.raises(TunnelError, match=r"identity file .*nope' does not exist"):
        missing.run("true")


def test_nothing_listening_fails_after_retries(login_node: dict[str, str | int]) -> None:
    """A port where no sshd listens: retried with backoff, then one clear line."""
    tunnel = _other_tunnel(login_node, port=1, retries=1)
    with pytest.raises(TunnelError, match=r"cannot connect to nrun@localhost:1: .*refused"):
        tunnel.run("true")
