"""`SSHTunnel`: the login node over SSH (paramiko), one connection per process and account.

Host keys are checked against a known_hosts file: an unknown key is refused unless
`accept_new_host_keys` is set (then it is trusted and saved, like OpenSSH's `accept-new`), and
a changed key is always refused. A connection that dies (sshd restarted, network blip) is
opened again on the next call, with backoff.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from nrun.exec.slurm._tunnel import CommandResult, Tunnel, TunnelError, TunnelStats

__all__ = ["SSHTunnel"]


class _Link:
    """One open connection (and its SFTP session) shared by every tunnel with the same key."""

    def __init__(self) -> None:
        self.client: Any = None
        self.sftp: Any = None
        self.home: str | None = None
        self.stats = TunnelStats()
        self.lock = threading.RLock()

    def drop(self) -> None:
        for closable in (self.sftp, self.client):
            if closable is not None:
                with contextlib.suppress(Exception):
                    closable.close()
        self.client = self.sftp = None


_links: dict[str, _Link] = {}
_links_lock = threading.Lock()


def _close_all() -> None:
    for link in _links.values():
        link.drop()


atexit.register(_close_all)


def _forget_in_child() -> None:
    """A forked child opens connections of its own: the parent's are not its to use or close.

    Their sockets are shared with the parent and their reader threads stayed there, so a
    command sent from the child would hang or garble the parent's session. Each inherited
    transport is marked inactive in the child, so nothing the child does (closing, collecting
    garbage) sends a byte on it; then the links are forgotten.
    """
    global _links_lock
    for link in _links.values():
        transport = link.client.get_transport() if link.client is not None else None
        if transport is not None:
            transport.active = False  # paramiko drops every packet of an inactive transport
    _links.clear()
    _links_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)


def _fingerprint(key: Any) -> str:
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
    return f"{key.get_name()} SHA256:{digest}"


@dataclasses.dataclass(kw_only=True)
class SSHTunnel(Tunnel):
    """Reach the login node `user@host:port` over SSH, with key or agent authentication."""

    host: str
    user: str
    job_dir: str = "nrun/jobs"
    port: int = 22
    identity: str | None = None
    """A private key file; without one, the SSH agent and `~/.ssh/id_*` are tried."""
    known_hosts: str = "~/.ssh/known_hosts"
    accept_new_host_keys: bool = False
    """Trust a host seen for the first time and save its key (a changed key is always refused)."""
    connect_timeout: float = 10.0
    retries: int = 3
    """Attempts after the first when connecting fails or the link drops, with doubling waits."""

    @property
    def key(self) -> str:
        return f"ssh://{self.user}@{self.host}:{self.port}"

    @property
    def where(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    def _link(self) -> _Link:
        with _links_lock:
            return _links.setdefault(self.key, _Link())

    @property
    def stats(self) -> TunnelStats:
        return self._link().stats

    # -- connecting ------------------------------------------------------------------------------
    def _connect(self, link: _Link) -> Any:
        """The open client of `link`, connecting (with retries) when there is none."""
        if link.client is not None:
            transport = link.client.get_transport()
            if transport is not None and transport.is_active():
                return link.client
            link.drop()
        delay = 0.25
        for attempt in range(self.retries + 1):
            try:
                link.client = self._open()
                link.stats.connections += 1
                return link.client
            except _Transient as exc:
                if attempt == self.retries:
                    raise TunnelError(f"cannot connect to {self.where}: {exc}") from None
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _open(self) -> Any:
        import paramiko

        known = Path(self.known_hosts).expanduser()
        client = paramiko.SSHClient()
        try:
            if self.accept_new_host_keys:
                known.parent.mkdir(parents=True, exist_ok=True)
                known.touch(mode=0o600, exist_ok=True)
            if known.exists():
                client.load_host_keys(str(known))
            client.set_missing_host_key_policy(
                paramiko.AutoAddPolicy() if self.accept_new_host_keys else paramiko.RejectPolicy()
            )
            identity = None
            if self.identity:
                identity = str(Path(self.identity).expanduser())
                if not os.path.exists(identity):
                    raise TunnelError(f"identity file '{identity}' does not exist")
            client.connect(
                self.host,
                port=self.port,
                username=self.user,
                key_filename=identity,
                allow_agent=True,
                look_for_keys=identity is None,
                timeout=self.connect_timeout,
                banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout,
            )
            return client
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise TunnelError(
                f"the host key of {self.host}:{self.port} has CHANGED "
                f"(now {_fingerprint(exc.key)}, {known} has {_fingerprint(exc.expected_key)}); "
                f"refusing to connect. If the change is expected, remove the old line from {known}"
            ) from None
        except paramiko.AuthenticationException as exc:
            client.close()
            raise TunnelError(f"authentication as {self.where} failed: {exc}") from None
        except paramiko.SSHException as exc:
            client.close()
            if "not found in known_hosts" in str(exc):
                raise TunnelError(
                    f"the host key of {self.host}:{self.port} is not in {known}; check it and add "
                    "it there, or pass accept_new_host_keys=True to trust it on first use"
                ) from None
            raise _Transient(str(exc) or type(exc).__name__) from None
        except paramiko.ssh_exception.NoValidConnectionsError as exc:
            client.close()
            reasons = {getattr(e, "strerror", None) or str(e) for e in exc.errors.values()}
            raise _Transient(", ".join(sorted(reasons)) or str(exc)) from None
        except (OSError, EOFError) as exc:
            client.close()
            raise _Transient(
                getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            ) from None
        except BaseException:
            client.close()
            raise

    def _with_retries(self, action: str, call: Any, *, idempotent: bool = True) -> Any:
        """Run `call(client, link)`; after a lost link, reconnect and (if safe) run it again."""
        import paramiko

        link = self._link()
        delay = 0.25
        for attempt in range(self.retries + 1):
            with link.lock:
                client = self._connect(link)
            try:
                link.stats.round_trips += 1
                return call(client, link)
            except _NotSent as exc:  # failed before the server saw it: always safe to redo
                failure: BaseException = exc.__cause__ or exc
            except (paramiko.SSHException, EOFError, OSError) as exc:
                if isinstance(exc, FileNotFoundError | PermissionError):
                    raise
                if not idempotent:
                    with link.lock:
                        link.drop()
                    raise TunnelError(
                        f"the connection to {self.where} broke during {action}; "
                        "it may or may not have happened"
                    ) from None
                failure = exc
            with link.lock:
                link.drop()
            if attempt == self.retries:
                raise TunnelError(f"{action} on {self.where} failed: {failure}") from None
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    # -- the tunnel interface --------------------------------------------------------------------
    def run(self, command: str, *, idempotent: bool = True) -> CommandResult:
        def call(client: Any, link: _Link) -> CommandResult:
            try:
                channel = client.get_transport().open_session(timeout=self.connect_timeout)
            except Exception as exc:  # the link is dead: nothing was sent
                raise _NotSent from exc
            with channel:
                channel.exec_command(command)
                channel.shutdown_write()
                stdout = channel.makefile("rb").read()
                stderr = channel.makefile_stderr("rb").read()
                code = channel.recv_exit_status()
            return CommandResult(
                code, stdout.decode(errors="replace"), stderr.decode(errors="replace")
            )

        return self._with_retries(f"'{command.split()[0]}'", call, idempotent=idempotent)  # type: ignore[no-any-return]

    def _sftp(self, client: Any, link: _Link) -> Any:
        with link.lock:
            if link.sftp is None:
                try:
                    link.sftp = client.open_sftp()
                except Exception as exc:
                    raise _NotSent from exc
            return link.sftp

    def put(self, local: Path, remote: str) -> None:
        """Copy through SFTP to a partial file (0600), then rename it into place."""
        partial = f"{remote}.{secrets.token_hex(4)}.partial"

        def call(client: Any, link: _Link) -> None:
            sftp = self._sftp(client, link)
            with link.lock:
                try:
                    with open(local, "rb") as source, sftp.open(partial, "wb") as copy:
                        copy.chmod(0o600)  # owner-only from the start, whatever the umask there
                        copy.set_pipelined(True)
                        shutil.copyfileobj(source, copy, 32768)
                    sftp.posix_rename(partial, remote)
                except BaseException:
                    with contextlib.suppress(Exception):
                        sftp.remove(partial)
                    raise

        try:
            self._with_retries(f"copying '{local.name}'", call)
        except (FileNotFoundError, PermissionError) as exc:
            raise TunnelError(f"cannot copy '{local}' to {self.where}:{remote}: {exc}") from None

    def read(self, remote: str, offset: int = 0) -> bytes | None:
        def call(client: Any, link: _Link) -> bytes | None:
            sftp = self._sftp(client, link)
            with link.lock:
                try:
                    with sftp.open(remote, "rb") as file:
                        file.seek(offset)
                        file.prefetch()
                        return file.read()  # type: ignore[no-any-return]
                except FileNotFoundError:
                    return None

        return self._with_retries(f"reading '{remote}'", call)  # type: ignore[no-any-return]

    def listdir(self, remote: str) -> list[str]:
        def call(client: Any, link: _Link) -> list[str]:
            sftp = self._sftp(client, link)
            with link.lock:
                try:
                    return sorted(sftp.listdir(remote))
                except FileNotFoundError:
                    return []

        return self._with_retries(f"listing '{remote}'", call)  # type: ignore[no-any-return]

    def home(self) -> str:
        link = self._link()
        if link.home is None:

            def call(client: Any, link: _Link) -> str:
                sftp = self._sftp(client, link)
                with link.lock:
                    return str(sftp.normalize("."))

            link.home = self._with_retries("finding the home folder", call)
        return link.home

    def known_home(self) -> str | None:
        return self._link().home

    def close(self) -> None:
        """Close this account's connection; the next call opens a new one."""
        link = self._link()
        with link.lock:
            link.drop()


class _Transient(Exception):
    """A connection attempt that may work when tried again."""


class _NotSent(Exception):
    """A request that failed before reaching the server."""
