"""The process that watches one local job: `python -m nrun.exec._supervisor <job dir>`.

It runs the job's command with its output in `output.log`, retries it if asked, and writes the
outcome to `result.json`, so any process can read the job's state later, even after the
launching process is gone. It leads its own session: cancelling the job signals the whole
process group, and the task dies with it (PR_SET_PDEATHSIG) if it is killed outright.
Standard library only (and `nrun.config.atomic`, which is too), so it starts fast. Its files are
owner-only; one it cannot write (a full disk) is one line in `supervisor.log`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from nrun.config.atomic import WriteError, read_json, write_json
from nrun.exec._files import open_private

__all__ = [
    "CANCEL",
    "OUTPUT",
    "RESULT",
    "SPEC",
    "STATE",
    "Background",
    "describe_exit",
    "process_alive",
    "start_time",
]

SPEC = "supervisor.json"
STATE = "state.json"
RESULT = "result.json"
OUTPUT = "output.log"
CANCEL = "cancel"
_PR_SET_PDEATHSIG = 1


class Background(subprocess.Popen[bytes]):
    """A child meant to outlive this process (a supervisor, a detached launcher).

    Whoever starts one keeps it and polls it, so it is reaped when it ends; if this process
    exits first, that is the point: no "subprocess is still running" ResourceWarning.
    """

    def __del__(self) -> None:
        pass


def start_time(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot), to tell it from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


def process_alive(pid: int, started: str | None) -> bool:
    """Whether the process `pid` that started at `started` still runs (zombies do not)."""
    if Path("/proc").is_dir():
        now = start_time(pid)
        return now is not None and (started is None or now == started)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe_exit(returncode: int) -> tuple[int, str]:
    """A process's exit as (shell-style exit code, reason): -9 is (137, 'killed by SIGKILL')."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return 128 - returncode, f"killed by {name}"
    return returncode, "" if returncode == 0 else f"exit code {returncode}"


def _die_with_parent() -> None:
    """In the task's process: be killed if the supervisor dies (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def supervise(job_dir: Path) -> int:
    """Run the job described by `job_dir/supervisor.json`; return the task's exit code."""
    os.umask(0o077)  # what the task writes is owner-only, as on Slurm and in Docker
    spec = read_json(job_dir / SPEC)
    if spec is None:
        print(f"nrun supervisor: no job in '{job_dir / SPEC}'", file=sys.stderr)
        return 1
    stopping = False

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True  # the task got the same signal (one process group); wait for it

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    me = os.getpid()
    write_json(
        job_dir / STATE,
        {"state": "RUNNING", "pid": me, "start": start_time(me), "started": time.time()},
    )
    attempts = int(spec.get("retries", 0)) + 1
    code: int | None = 1
    reason, state = "", "FAILED"
    with open_private(job_dir / OUTPUT) as out:
        for attempt in range(1, attempts + 1):
            if stopping or (job_dir / CANCEL).exists():  # cancelled before this attempt began
                code, reason, state = None, "cancelled", "CANCELLED"
                break
            if attempt > 1:
                out.write(f"[nrun] attempt {attempt} of {attempts}\n".encode())
            try:
                child = subprocess.Popen(
                    spec["command"],
                    cwd=spec["cwd"],
                    env={**os.environ, **spec["env"]},
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent,  # the supervisor is single-threaded
                )
            except OSError as exc:
                out.write(f"[nrun] cannot start {spec['command'][0]}: {exc}\n".encode())
                code, reason, state = 127, f"cannot start: {exc}", "FAILED"
                break
            if stopping:  # the signal came while the task was starting: it may have missed it
                child.terminate()
            while True:
                try:
                    returncode = child.wait()
                    break
                except InterruptedError:
                    continue
            code, reason = describe_exit(returncode)
            if stopping or (job_dir / CANCEL).exists():
                state, reason = "CANCELLED", "cancelled"
                break
            if returncode == 0:
                state = "SUCCEEDED"
                break
            state = "FAILED"
    write_json(
        job_dir / RESULT,
        {"state": state, "exit_code": code, "reason": reason, "finished": time.time()},
    )
    return 1 if code is None else code


def main(argv: list[str]) -> int:
    """`python -m nrun.exec._supervisor <job dir>`; a file it cannot write is one line."""
    try:
        return supervise(Path(argv[0]))
    except WriteError as exc:  # the job reads FAILED: its supervisor died without a result
        print(f"nrun supervisor: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
