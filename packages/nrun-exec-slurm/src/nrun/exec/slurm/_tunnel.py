"""How nrun reaches a Slurm cluster: run a command, copy a file, read a file on the login node."""

from __future__ import annotations

import abc
import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

from nrun.config.atomic import WriteError, atomic_path
from nrun.exec.base import ExecutorError

__all__ = ["CommandResult", "LocalTunnel", "Tunnel", "TunnelError", "TunnelStats"]


class TunnelError(ExecutorError):
    """The cluster cannot be reached: refused host key, failed login, dead connection."""


@dataclasses.dataclass(frozen=True)
class CommandResult:
    """What a command printed and how it ended."""

    returncode: int
    stdout: str
    stderr: str

    def first_error(self) -> str:
        """The first line of stderr (or stdout), for one-line error messages."""
        for text in (self.stderr, self.stdout):
            for line in text.splitlines():
                if line.strip():
                    return line.strip()
        return f"exit code {self.returncode}"


@dataclasses.dataclass
class TunnelStats:
    """Counters for benchmarks: connections opened and round trips (commands and file copies)."""

    connections: int = 0
    round_trips: int = 0


@dataclasses.dataclass(kw_only=True)
class Tunnel(abc.ABC):
    """A way to the cluster's login node. Paths given to it are paths on that node."""

    job_dir: str = ""
    """Where jobs' folders go on the cluster; empty: the executor's own job dir, as is."""

    @property
    @abc.abstractmethod
    def key(self) -> str:
        """Names the login node and account, e.g. `ssh://user@host:22`; equal keys share state."""

    @property
    @abc.abstractmethod
    def stats(self) -> TunnelStats:
        """Connections and round trips so far, for this login node and account."""

    @abc.abstractmethod
    def run(self, command: str, *, idempotent: bool = True) -> CommandResult:
        """Run a shell command there. Only an `idempotent` one is retried after a lost link."""

    @abc.abstractmethod
    def put(self, local: Path, remote: str) -> None:
        """Copy a file there, owner-only; the copy appears whole or not at all."""

    @abc.abstractmethod
    def read(self, remote: str, offset: int = 0) -> bytes | None:
        """A file's bytes from `offset` on, or None when it does not exist."""

    @abc.abstractmethod
    def listdir(self, remote: str) -> list[str]:
        """The names in a folder there (empty when it does not exist)."""

    @abc.abstractmethod
    def home(self) -> str:
        """The account's home folder there, for relative and `~` paths."""

    def close(self) -> None:  # noqa: B027 - most tunnels hold nothing to close
        """Let go of connections (a later call opens a new one)."""

    def known_home(self) -> str | None:
        """The home folder if known without asking the cluster (a dry run asks nothing)."""
        return None

    def resolve(self, path: str, *, ask: bool = True) -> str:
        """`path` made absolute on the cluster: `~/x` and `x` are under the home folder.

        With `ask=False` the cluster is not asked: a home folder not known yet is `<home>`.
        """
        if path.startswith("~/") or path == "~":
            path = path[2:]
        if os.path.isabs(path):
            return os.path.normpath(path)
        home = self.home() if ask else self.known_home() or "<home>"
        return os.path.normpath(os.path.join(home, path))


_local_stats = TunnelStats()


@dataclasses.dataclass(kw_only=True)
class LocalTunnel(Tunnel):
    """We are on the login node: commands run here and files are copied here."""

    @property
    def key(self) -> str:
        return "local"

    @property
    def stats(self) -> TunnelStats:
        return _local_stats

    def run(self, command: str, *, idempotent: bool = True) -> CommandResult:
        _local_stats.round_trips += 1
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
        return CommandResult(done.returncode, done.stdout, done.stderr)

    def put(self, local: Path, remote: str) -> None:
        _local_stats.round_trips += 1
        try:
            # owner-only, whole or not at all
            with (
                open(local, "rb") as source,
                atomic_path(remote) as partial,
                open(partial, "wb") as copy,
            ):
                shutil.copyfileobj(source, copy)
        except WriteError as exc:
            raise TunnelError(str(exc)) from None
        except OSError as exc:
            raise TunnelError(f"cannot copy '{local}' to '{remote}': {exc.strerror}") from None

    def read(self, remote: str, offset: int = 0) -> bytes | None:
        try:
            with open(remote, "rb") as file:
                file.seek(offset)
                return file.read()
        except FileNotFoundError:
            return None

    def listdir(self, remote: str) -> list[str]:
        try:
            return sorted(os.listdir(remote))
        except FileNotFoundError:
            return []

    def home(self) -> str:
        return str(Path.home())

    def known_home(self) -> str | None:
        return self.home()
