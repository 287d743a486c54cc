"""Tasks the tests launch in real subprocesses (imported there as `jobs`).

Tasks that must stay alive for a while wait for a file instead of sleeping a fixed time, and
give up after `timeout` seconds so that nothing outlives a failed test for long.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from nrun.exec.base import Executor, ExecutorError, Job
from nrun.exec.local import LocalExecutor
from nrun.exec.packaging import PatternPackager


def echo(message: str = "hello") -> None:
    """Print `message`."""
    print(message, flush=True)


def fail(code: int = 3, message: str = "failing on purpose") -> None:
    """Print some lines, then `message` to stderr, and exit with `code`."""
    for i in range(30):
        print(f"noise {i}", flush=True)
    print(message, file=sys.stderr, flush=True)
    sys.exit(code)


def crash(message: str = "boom") -> None:
    """Raise an exception."""
    raise RuntimeError(message)


def returns(value: int = 42) -> int:
    """Return `value` (the task runner ignores it)."""
    print(f"returning {value}", flush=True)
    return value


def report(path: str, message: str = "", names: list[str] | None = None) -> None:
    """Write what the task sees (pid, cwd, job dir, env vars, message) as JSON to `path`."""
    seen = {
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "job_dir": os.environ.get("NRUN_JOB_DIR"),
        "message": message,
        "env": {name: os.environ.get(name) for name in names or []},
        "time": time.time(),
    }
    Path(path).write_text(json.dumps(seen))
    print(f"message={message}", flush=True)
    for name in names or []:
        print(f"{name}={os.environ.get(name)}", flush=True)


def append(path: str, text: str, delay: float = 0.0) -> None:
    """Append a line to `path` (after `delay` seconds)."""
    time.sleep(delay)
    with open(path, "a") as handle:
        handle.write(text + "\n")
    print(f"appended {text}", flush=True)


def _wait_for(path: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def block(pidfile: str, release: str = "", timeout: float = 30.0) -> None:
    """Write our pid to `pidfile`, then wait until `release` exists (or give up: exit 4)."""
    Path(pidfile).write_text(str(os.getpid()))
    print("started", flush=True)
    if not _wait_for(Path(release or pidfile + ".release"), timeout):
        print("never released", flush=True)
        sys.exit(4)
    print("released", flush=True)


def rendezvous(mine: str, other: str, timeout: float = 20.0) -> None:
    """Create `mine`, then wait for `other`: two of these finish only if they run together."""
    Path(mine).write_text(str(os.getpid()))
    if not _wait_for(Path(other), timeout):
        print(f"{other} never appeared", flush=True)
        sys.exit(4)
    print("met", flush=True)


def needs(paths: list[str], out: str) -> None:
    """Fail unless every file in `paths` exists; then write `out`."""
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        print(f"missing {missing}", flush=True)
        sys.exit(1)
    Path(out).write_text("ok")


def ignore_sigterm(pidfile: str, timeout: float = 30.0) -> None:
    """Ignore SIGTERM and stay alive: only SIGKILL stops this."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    block(pidfile, timeout=timeout)


def spawn_grandchild(pidfile: str, timeout: float = 30.0, stubborn: bool = False) -> None:
    """Start a sleeping grandchild (one that ignores SIGTERM if `stubborn`), wait for it.

    Both pids go to `pidfile` as JSON.
    """
    ignore = "signal.signal(signal.SIGTERM, signal.SIG_IGN); " if stubborn else ""
    code = f"import signal, time; {ignore}print('grandchild up', flush=True); time.sleep({timeout})"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    child.stdout.readline()  # its handler is in place
    Path(pidfile).write_text(json.dumps({"task": os.getpid(), "grandchild": child.pid}))
    print("spawned", flush=True)
    child.wait()


def flaky(counter: str, failures: int = 1) -> None:
    """Fail (exit 1) the first `failures` times it runs; count the runs in `counter`."""
    path = Path(counter)
    runs = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(runs))
    print(f"run {runs}", flush=True)
    if runs <= failures:
        print("flaky failure", flush=True)
        sys.exit(1)
    print("flaky success", flush=True)


def imported(names: list[str]) -> None:
    """Print, for each module name, whether this process has imported it."""
    for name in names:
        print(f"{name}: {name in sys.modules}", flush=True)


def lines(count: int = 5, delay: float = 0.1) -> None:
    """Print `count` numbered lines, `delay` seconds apart."""
    for i in range(count):
        print(f"line {i}", flush=True)
        time.sleep(delay)
    print("done", flush=True)


@dataclasses.dataclass
class Note:
    """A class the task runner builds (a `Config`, not called): writes `text` to `path`."""

    path: str
    text: str = "built"

    def __post_init__(self) -> None:
        Path(self.path).write_text(self.text)
        print(f"built Note({self.text})", flush=True)


@dataclasses.dataclass(kw_only=True)
class GatedPackager(PatternPackager):
    """A PatternPackager that packages only once the file `gate` exists.

    It creates `<gate>.waiting` first, so a test knows a launch is under way.
    """

    gate: str

    def package(self, source: Path, job_dir: Path) -> Path:
        """Wait for the gate, then package like a PatternPackager."""
        Path(self.gate + ".waiting").touch()
        _wait_for(Path(self.gate), 30)
        return super().package(source, job_dir)


@dataclasses.dataclass(kw_only=True)
class BatchRecorder(LocalExecutor):
    """A LocalExecutor whose `launch_batch` appends the names of each batch to `calls`."""

    calls: str

    @classmethod
    def launch_batch(cls, jobs: Sequence[tuple[Executor, Job]]) -> list[str | ExecutorError]:
        """Write down the batch (one JSON line), then launch it as any LocalExecutor would."""
        executor = jobs[0][0]
        assert isinstance(executor, BatchRecorder)
        with open(executor.calls, "a") as handle:
            handle.write(json.dumps([job.name for _, job in jobs]) + "\n")
        return super().launch_batch(jobs)


@dataclasses.dataclass(kw_only=True)
class HalfBatch(LocalExecutor):
    """A backend whose batch launch starts the first job only, and says why not the others.

    `answer` is what it returns for them: "error" (an ExecutorError each), "short" (nothing:
    a list one too short), or "raise" (it raises instead of answering at all).
    """

    answer: str = "error"

    @classmethod
    def launch_batch(cls, jobs: Sequence[tuple[Executor, Job]]) -> list[str | ExecutorError]:
        """Launch the first job; answer for the others as `answer` says."""
        answer = getattr(jobs[0][0], "answer", "error")
        if answer == "raise":
            raise RuntimeError("the batch went nowhere")
        first = jobs[0][0].launch(jobs[0][1])
        if answer == "short":
            return [first]
        return [first, *[ExecutorError(f"no room for {job.name}") for _, job in jobs[1:]]]
