"""Helpers of the tests that run a script as a real program: `python script.py ...` in `tmp_path`.

A script is written into a folder with `write`, then run by `run_py` (stdin closed or given,
output captured) or by `run_in_terminal` (on a pseudo-terminal, answering prompts). Both run
`sys.executable` with a fixed `COLUMNS`, `NO_COLOR=1` and `TERM=dumb`, so the output is the same
on every machine.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from nrun.cli.testing import CliResult

# the `runner` fixture's type (conftest.py): `run_cli`, or `cli.main` in this process
Runner = Callable[..., CliResult]


def write(path: Path, text: str) -> Path:
    """Write `text` (dedented, without its first newline) to `path`, creating its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def run_py(
    cwd: Path,
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    columns: int = 120,
    timeout: float = 180,
    inherit_env: bool = True,
) -> subprocess.CompletedProcess[str]:
    """`python ARGS...` in `cwd`, stdin not a terminal (empty, or `input`).

    The environment is this process's (or, with `inherit_env=False`, nothing) with `COLUMNS`
    and, when inherited, `NO_COLOR=1` and `TERM=dumb`; then `env` on top.
    """
    inherited = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"} if inherit_env else {}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        capture_output=True,
        text=True,
        env={**inherited, "COLUMNS": str(columns), **(env or {})},
        timeout=timeout,
    )


def run_in_terminal(
    cwd: Path, *args: str, answers: dict[str, str] | None = None, timeout: float = 60
) -> tuple[int | None, str]:
    """Run `python ARGS...` on a pseudo-terminal, answering prompts; (exit code, output).

    `answers` maps each prompt, in order, to what is typed when it shows. A prompt nobody
    answers is answered "n", so a test expecting none fails instead of hanging.
    """
    master, slave = pty.openpty()
    environment = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=environment,
        start_new_session=True,
    )
    os.close(slave)
    pending = list((answers or {}).items())
    output = b""
    searched = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
                fresh = output[searched:]
                if pending and pending[0][0].encode() in fresh:
                    searched = len(output)
                    os.write(master, pending.pop(0)[1].encode())
                elif not pending and b"[y/N]: " in fresh:
                    searched = len(output)
                    os.write(master, b"n\n")
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
        code = proc.wait(timeout=10)
    finally:
        os.close(master)
    return code, output.decode(errors="replace").replace("\r\n", "\n")


def one_line(stderr: str) -> str:
    """The single line a program printed on stderr (no traceback), without its newline."""
    assert "Traceback" not in stderr
    assert stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    return stderr.strip()


# The guide's task module (section 4) up to its entrypoint: two configs and their factories.
# Each test file adds an entrypoint `train_model(model, optimizer, epochs, batch_size)`.
TASK_CONFIGS = """
from dataclasses import dataclass, field
from nrun import cli
from nrun.config import Config, Partial, autoconvert


@dataclass
class Model:
    hidden_size: int = 256
    num_layers: int = 3
    activation: str = "relu"


@dataclass
class Optimizer:
    learning_rate: float = 0.001
    weight_decay: float = 1e-5
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])


@cli.factory
@autoconvert
def my_model() -> Model:
    return Model(hidden_size=1024, num_layers=12)


@cli.factory
@autoconvert
def my_optimizer() -> Optimizer:
    return Optimizer(learning_rate=0.0001)
"""
