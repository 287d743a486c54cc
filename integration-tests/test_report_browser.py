"""`nrun experiment report --html` opened in headless Chromium: it loads clean and shows the tasks.

A real local experiment (4 tasks: a dependency chain with a failure, a cancelled dependent,
an independent one) is reported by the installed `nrun` script; Chromium (Debian's) loads the
file with no console error and no request, the DOM holds every task and dependency, and the
screenshot is not blank (its path is printed, for a person to open). The harness itself is
checked against a page that does log an error and fetch something, and against a blank one.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import browser  # beside this file: conftest.py puts the folder on sys.path
import pytest

pytestmark = pytest.mark.skipif(browser.CHROMIUM is None, reason=browser.MISSING)

TASKS = """
import sys, time

def prep(seconds: float = 0.2):
    time.sleep(seconds)

def train(api_key: str = ""):
    sys.exit(3)

def evaluate():
    print("evaluated")
"""
SCRIPT = """
import sys
from nrun.config import Partial
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor
import browser_tasks as t

exp = Experiment("browser", executor=LocalExecutor(workdir=sys.argv[1]))
exp.add(Partial(t.prep), name="prep")
exp.add(Partial(t.train, api_key="sk-browser-secret-1"), name="train", dependencies=["prep"])
exp.add(Partial(t.evaluate), name="eval", dependencies=["train"])
exp.add(Partial(t.prep, seconds=0.1), name="other")
exp.run()
print(exp.id)
"""
TASK_STATES = {"prep": "SUCCEEDED", "train": "FAILED", "eval": "CANCELLED", "other": "SUCCEEDED"}


def shown(capsys: pytest.CaptureFixture[str], text: str) -> None:
    with capsys.disabled():
        print(f"\n{text}", flush=True)


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """The report of a finished 4-task experiment, written by `nrun experiment report`."""
    (tmp_path / "browser_tasks.py").write_text(textwrap.dedent(TASKS))
    env = {**os.environ, "NRUN_HOME": str(tmp_path / "home"), "PYTHONPATH": str(tmp_path)}
    made = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    experiment_id = made.stdout.split()[-1]
    out = tmp_path / "experiment.html"
    nrun = Path(sys.executable).with_name("nrun")
    done = subprocess.run(
        [str(nrun), "experiment", "report", experiment_id, "--html", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    return out


def test_the_report_loads_offline_and_shows_every_task(
    report: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = browser.load(report, screenshot=browser.SCREENSHOTS / "experiment-report.png")
    shown(capsys, f"screenshot of the experiment report: {page.screenshot_png_path}")
    assert page.console_errors == []
    assert page.requests == []
    dom = page.dom_html
    for name, state in TASK_STATES.items():
        assert f'id="bar-{name}" data-task="{name}" data-state="{state}"' in dom  # timeline
        assert f'id="task-{name}" data-task="{name}" data-state="{state}"' in dom  # table
    edges = set(re.findall(r'<path class="dep" data-from="([^"]+)" data-to="([^"]+)"', dom))
    assert edges == {("prep", "train"), ("train", "eval")}
    assert len(re.findall(r'<rect class="bar"', dom)) == 3  # eval never ran: a diamond
    assert "sk-browser-secret-1" not in dom
    assert browser.not_blank(page.screenshot_png_path)
    colors, ink = browser.png_stats(page.screenshot_png_path)
    shown(capsys, f"screenshot: {colors} colours, {ink:.1%} of it not white")


def test_the_harness_sees_errors_and_requests(tmp_path: Path) -> None:
    """A page that logs an error, throws, and fetches an image: all three are reported."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><p>bad</p>"
        '<img src="http://127.0.0.1:9/missing.png">'
        "<script>console.error('on purpose'); null.boom();</script></body></html>"
    )
    page = browser.load(bad, screenshot=tmp_path / "bad.png")
    assert page.requests == ["http://127.0.0.1:9/missing.png"]
    assert any("console.error: on purpose" in e for e in page.console_errors), page.console_errors
    assert any(e.startswith("exception:") for e in page.console_errors), page.console_errors
    assert "<p>bad</p>" in page.dom_html


def test_a_blank_page_is_blank(tmp_path: Path) -> None:
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body></body></html>")
    page = browser.load(blank, screenshot=tmp_path / "blank.png")
    assert (page.console_errors, page.requests) == ([], [])
    assert not browser.not_blank(page.screenshot_png_path)
    assert browser.png_stats(page.screenshot_png_path) == (1, 0.0)
