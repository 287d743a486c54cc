"""`nrun experiment report ID --html FILE` through the installed script, on a real experiment."""

from __future__ import annotations

import os
import resource
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from nrun.config import Partial
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor
from nrun.exec.probes import echo, fail

Run = Callable[..., subprocess.CompletedProcess[str]]
SECRET = "hf_app_report_secret_42"


@pytest.fixture
def finished(home: Path) -> Experiment:
    """hello succeeds; broken (after hello) fails with exit code 3; a secret in the env."""
    executor = LocalExecutor(cancel_grace=1.0, env_vars={"HF_TOKEN": SECRET})
    experiment = Experiment("apprep", executor=executor)
    experiment.add(Partial(echo, message="hello report"), name="hello")
    experiment.add(Partial(fail, code=3), name="broken", dependencies=["hello"])
    experiment.run()
    return experiment


def test_report_writes_the_page_and_prints_its_path(
    nrun: Run, finished: Experiment, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    done = nrun("experiment", "report", finished.id, "--html", str(out))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"{out}\n"
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert 'data-task="hello" data-state="SUCCEEDED"' in page
    assert 'data-task="broken" data-state="FAILED"' in page
    assert '<path class="dep" data-from="hello" data-to="broken"' in page
    assert SECRET not in page and "****" in page
    # a file to share: the mode a plain write gives (not the store's owner-only 0600)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    assert not list(tmp_path.glob(".report.html.*"))


def test_report_is_listed_in_the_help(nrun: Run) -> None:
    done = nrun("experiment", "--help")
    assert done.returncode == 0 and "report" in done.stdout


@pytest.mark.parametrize(
    "target",
    ["missing/report.html", "."],
    ids=["no such folder", "a folder"],
)
def test_a_path_that_cannot_be_written_is_one_line(
    nrun: Run, finished: Experiment, tmp_path: Path, target: str
) -> None:
    before = sorted(tmp_path.iterdir())
    done = nrun("experiment", "report", finished.id, "--html", target)
    assert (done.returncode, done.stdout) == (2, "")
    (line,) = done.stderr.splitlines()
    assert line.startswith("cannot write '")
    assert sorted(tmp_path.iterdir()) == before


def test_an_unknown_id_is_one_line_and_writes_nothing(
    nrun: Run, home: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    done = nrun("experiment", "report", "nothing_20260101-000000_abcdef", "--html", str(out))
    assert (done.returncode, done.stdout) == (2, "")
    (line,) = done.stderr.splitlines()
    assert line.startswith("no experiment with id 'nothing_20260101-000000_abcdef'")
    assert not out.exists()


def test_without_html_it_says_what_is_missing(nrun: Run, finished: Experiment) -> None:
    done = nrun("experiment", "report", finished.id)
    assert done.returncode == 2 and "--html" in done.stderr


def test_a_full_disk_is_one_line_and_leaves_nothing(finished: Experiment, tmp_path: Path) -> None:
    """RLIMIT_FSIZE below the page's size: the write fails (EFBIG) whole; exit 1."""
    out = tmp_path / "report.html"

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))

    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("nrun")),
            "experiment",
            "report",
            finished.id,
            "--html",
            str(out),
        ],
        env={**os.environ, "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limited,
    )
    assert (done.returncode, done.stdout) == (1, "")
    (line,) = done.stderr.splitlines()
    assert line == f"cannot write '{out}': File too large"
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]
