"""`nrun experiment watch` in a real terminal: tmux runs it, the test reads the screen.

Each test has its own tmux server (`tmux -L <unique socket>`), killed at the end; the pane
stays after the command exits (`remain-on-exit`) so its last screen can be read; a shell
around the command writes its exit code to a file.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nrun.config import Partial
from nrun.exec.base import JobState
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor
from nrun.exec.probes import fail, sleep

TIMEOUT = 60.0
NRUN = Path(sys.executable).with_name("nrun")  # the console script, as conftest finds it

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Terminal:
    """A 120x40 tmux pane on a server of its own."""

    def __init__(self, home: Path):
        self.socket = f"nrun-watch-{uuid.uuid4().hex[:8]}"
        self.code = home.parent / f"{self.socket}.code"
        self.env = {**os.environ, "NRUN_HOME": str(home), "TERM": "xterm-256color"}
        self.env.pop("NO_COLOR", None)

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return done.stdout

    def start(self, command: list[str]) -> None:
        """Run `command` in the pane; a shell around it writes its exit code to a file."""
        script = f"{shlex.join(command)}; echo $? > {shlex.quote(str(self.code))}"
        self.tmux(
            "new-session", "-d", "-x", "120", "-y", "40", "-s", "watch", script,
            ";", "set-option", "-t", "watch", "remain-on-exit", "on",
        )  # fmt: skip

    def screen(self, colours: bool = False) -> str:
        """What the pane shows, and what scrolled up (tmux's "Pane is dead" line scrolls)."""
        options = ["-S", "-", *(["-e"] if colours else [])]
        return self.tmux("capture-pane", "-p", *options, "-t", "watch")

    def until(self, check: Callable[[str], bool], what: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}; the screen:\n{screen}")
            time.sleep(0.1)

    def exit_code(self) -> int:
        """The command's exit code, once it has exited."""
        deadline = time.monotonic() + TIMEOUT
        while not self.code.exists() or not self.code.read_text().strip():
            if time.monotonic() > deadline:
                pytest.fail(f"the command never exited; the screen:\n{self.screen()}")
            time.sleep(0.1)
        return int(self.code.read_text())

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"],
            env=self.env,
            capture_output=True,
            check=False,
        )
        folder = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        (folder / self.socket).unlink(missing_ok=True)  # kill-server leaves its socket


@pytest.fixture
def terminal(home: Path) -> Iterator[Terminal]:
    term = Terminal(home)
    try:
        yield term
    finally:
        term.close()


@pytest.fixture
def started() -> Iterator[list[Experiment]]:
    found: list[Experiment] = []
    yield found
    for experiment in found:
        experiment.cancel()
        experiment.wait(TIMEOUT)


def row(screen: str, task: str) -> str:
    """The table row of `task` on the screen ("" when there is none)."""
    return next((line for line in screen.splitlines() if line.startswith(f"│ {task} ")), "")


def test_the_states_change_on_screen_then_the_final_table(
    terminal: Terminal, started: list[Experiment]
) -> None:
    experiment = Experiment("onscreen", executor=LocalExecutor(cancel_grace=1.0))
    experiment.add(Partial(sleep, seconds=3.0, lines=3), name="runner")
    experiment.add(
        Partial(fail, code=3, message="failed on purpose"), name="broken", dependencies=["runner"]
    )
    experiment.run(detach=True)
    started.append(experiment)
    terminal.start([str(NRUN), "experiment", "watch", experiment.id])
    live = terminal.until(lambda s: "RUNNING" in row(s, "runner"), "runner RUNNING")
    assert "PENDING" in row(live, "broken")
    assert "Ctrl-C stops watching" in live
    assert "\x1b[36m" in terminal.screen(colours=True)  # RUNNING in cyan (STATE_COLORS)
    assert terminal.exit_code() == 1
    final = terminal.screen()
    assert final.count(f"Experiment {experiment.id}") == 1  # the live view became the table
    assert "Ctrl-C stops watching" not in final
    assert "SUCCEEDED" in row(final, "runner") and "done" in row(final, "runner")
    failed = row(final, "broken")
    assert "FAILED" in failed and "│ 3 " in failed and "failed on purpose" in failed
    coloured = terminal.screen(colours=True)
    assert "\x1b[32mSUCCEEDED" in coloured and "\x1b[31mFAILED" in coloured


def test_ctrl_c_stops_watching_and_leaves_the_job_running(
    terminal: Terminal, started: list[Experiment]
) -> None:
    experiment = Experiment("interrupted", executor=LocalExecutor(cancel_grace=1.0))
    experiment.add(Partial(sleep, seconds=120.0, lines=120), name="long")
    experiment.run(detach=True)
    started.append(experiment)
    terminal.start([str(NRUN), "experiment", "watch", experiment.id])
    terminal.until(lambda s: "line 1" in row(s, "long"), "the last line on screen")
    terminal.tmux("send-keys", "-t", "watch", "C-c")
    assert terminal.exit_code() == 130
    screen = terminal.screen()
    message = f"stopped watching; the jobs keep running: nrun experiment cancel {experiment.id}"
    assert message in screen.replace("\n", "")
    assert "RUNNING" in row(screen, "long")  # the last view stays
    assert Experiment.from_id(experiment.id).status() == {"long": JobState.RUNNING}
