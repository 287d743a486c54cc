"""`nrun.exec.report`: the experiment's page from a real local experiment, and the toolkit.

The experiment's tasks are a module written into a folder of the tests (on the tasks' PYTHONPATH
as the executor's `workdir`, and on this process's `sys.path`), so its config can hold a
secret-named argument: the page must show each task, its state and dependencies, and no secret.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from helpers import until
from nrun.config import Partial
from nrun.config.secrets import MASK
from nrun.exec.experiment import Experiment, ExperimentError
from nrun.exec.local import LocalExecutor
from nrun.exec.report import (
    ReportError,
    dot_quote,
    dot_svg,
    escape,
    experiment_report,
    html_page,
    sparkline_svg,
)

TIMEOUT = 30.0
API_KEY = "sk-live-report-0123456789"
HF_TOKEN = "hf_reportsecret_9876"
TASKS = """
import sys, time
from pathlib import Path

def prep(seconds: float = 0.1):
    time.sleep(seconds)
    print("prepared", flush=True)

def train(lr: float = 0.25, api_key: str = ""):
    print("training with", api_key, flush=True)   # the log is not in the report
    sys.exit(3)

def evaluate():
    print("evaluated")

def hold(release: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not Path(release).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
"""


@pytest.fixture(scope="module")
def tasks_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder holding the tasks module `report_tasks`, importable here while these tests run."""
    folder = tmp_path_factory.mktemp("report-tasks")
    (folder / "report_tasks.py").write_text(textwrap.dedent(TASKS))
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    sys.modules.pop("report_tasks", None)


@pytest.fixture
def tasks(tasks_dir: Path) -> ModuleType:
    return importlib.import_module("report_tasks")


@pytest.fixture
def executor(tasks_dir: Path) -> LocalExecutor:
    return LocalExecutor(workdir=str(tasks_dir), cancel_grace=2.0, env_vars={"HF_TOKEN": HF_TOKEN})


@pytest.fixture
def finished(tasks: ModuleType, executor: LocalExecutor) -> Experiment:
    """prep succeeds; train (after prep) fails with exit code 3; eval (after train) is cancelled."""
    exp = Experiment("reported", executor=executor)
    exp.add(Partial(tasks.prep), name="prep")
    exp.add(Partial(tasks.train, lr=0.25, api_key=API_KEY), name="train", dependencies=["prep"])
    exp.add(Partial(tasks.evaluate), name="eval", dependencies=["train"])
    exp.run()
    return exp


def task_rows(page: str) -> dict[str, str]:
    """Each task's table row (`<tr class="task" …>…</tr>`), by name."""
    found = re.findall(r'<tr class="task" id="task-([^"]+)"[^>]*>(.*?)</tr>', page, re.DOTALL)
    return dict(found)


def test_the_page_shows_each_task_its_state_times_and_dependencies(finished: Experiment) -> None:
    page = experiment_report(finished.id)
    assert page.startswith("<!DOCTYPE html>")
    assert f"<title>Experiment {finished.id}</title>" in page
    rows = task_rows(page)
    assert list(rows) == ["prep", "train", "eval"]
    for name, state in (("prep", "SUCCEEDED"), ("train", "FAILED"), ("eval", "CANCELLED")):
        assert f'id="task-{name}" data-task="{name}" data-state="{state}"' in page
        assert f'id="bar-{name}" data-task="{name}" data-state="{state}"' in page  # timeline
    assert ">exit code 3<" in rows["train"] and "<td>3</td>" in rows["train"]
    assert "dependency &#x27;train&#x27; failed" in rows["eval"]
    for name in ("prep", "train"):
        job_id = json.loads((finished.dir / "tasks" / name / "job.json").read_text())["job_id"]
        assert job_id and f">{job_id}<" in rows[name]
        assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}</td>", rows[name])
    assert rows["eval"].count("<td></td>") >= 3  # never started: no job id, start, exit code
    # the dependencies: arrows in the timeline, links in the table
    assert '<path class="dep" data-from="prep" data-to="train"' in page
    assert '<path class="dep" data-from="train" data-to="eval"' in page
    assert page.count('class="dep"') == 2
    assert '<a href="#task-prep">prep</a>' in rows["train"]
    # the executor and each task's config
    assert "<td>local</td>" in rows["prep"]
    assert page.count('<details class="config" data-file="task.yaml">') == 3
    assert "report_tasks.train" in page and "lr: 0.25" in page


def test_secrets_are_masked_wherever_they_appear(finished: Experiment) -> None:
    page = experiment_report(finished.id)
    assert API_KEY not in page and HF_TOKEN not in page
    assert f"api_key: &#x27;{MASK}&#x27;" in page or f"api_key: {MASK}" in page
    assert f"HF_TOKEN: &#x27;{MASK}&#x27;" in page or f"HF_TOKEN: {MASK}" in page
    # the record itself still holds them (owner-only): only the page hides them
    assert API_KEY in (finished.dir / "tasks" / "train" / "task.yaml").read_text()


def test_the_page_fetches_nothing(finished: Experiment) -> None:
    page = experiment_report(finished.id)
    assert "http://" not in page and "https://" not in page
    links = re.findall(r'\b(?:src|href|xlink:href|action)\s*=\s*["\']?([^"\'\s>]*)', page)
    assert links, "the page links its tasks to their rows"
    assert all(link.startswith(("#", "data:")) for link in links), links
    assert "//" not in "".join(links)
    assert not re.search(r"@import|url\((?!#)", page)  # nothing from CSS either
    assert "default-src 'none'" in page  # and the browser is told to fetch nothing


def test_running_and_pending_tasks_show_up_to_now(
    tasks: ModuleType, executor: LocalExecutor, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    exp = Experiment("live", executor=executor)
    exp.add(Partial(tasks.hold, release=str(release)), name="hold")
    exp.add(Partial(tasks.evaluate), name="after", dependencies=["hold"])
    exp.run(detach=True)
    try:
        until(lambda: exp.status()["hold"].value == "RUNNING", TIMEOUT, "hold to run")
        page = experiment_report(exp.id)
        assert 'data-state="RUNNING"' in page and 'class="bar running"' in page
        assert 'data-task="after" data-state="PENDING"' in page
        assert 'class="bar pending"' in page
        assert '<path class="dep" data-from="hold" data-to="after"' in page
    finally:
        release.touch()
        exp.wait(TIMEOUT)
    page = experiment_report(exp.id)
    assert 'class="bar running"' not in page and 'class="bar pending"' not in page


def test_an_unknown_experiment_is_one_line(home: Path) -> None:
    with pytest.raises(ExperimentError) as caught:
        experiment_report("nothing_20260101-000000_abcdef")
    assert "\n" not in str(caught.value) and "no experiment with id" in str(caught.value)


# -- the toolkit -------------------------------------------------------------------------------
def test_html_page_is_self_contained_and_escapes_its_title() -> None:
    page = html_page("a <b> & 'c'", "<p>body</p>", style="p { color: red; }", script="1 < 2;")
    assert "<title>a &lt;b&gt; &amp; &#x27;c&#x27;</title>" in page
    assert "p { color: red; }</style>" in page and "<script>1 < 2;</script>" in page
    assert "<p>body</p>" in page and '<meta charset="utf-8">' in page
    assert "<script" not in html_page("t", "")  # no script unless one is given
    with pytest.raises(ValueError):
        html_page("t", "", script="x = '</script>'")
    with pytest.raises(ValueError):
        html_page("t", "", style="</STYLE>")


def test_escape_and_dot_quote() -> None:
    assert escape('<a href="x">&</a>') == "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
    assert escape(3) == "3"
    assert dot_quote('say "hi"\\\nbye') == '"say \\"hi\\"\\\\\\nbye"'


def test_sparkline_plots_finite_values_in_order() -> None:
    svg = sparkline_svg([3.0, 2.0, float("nan"), 1.0, 0.5], width=100, height=20, label="loss")
    assert svg.startswith('<svg class="sparkline" width="100" height="20"')
    (points,) = re.findall(r'<polyline points="([^"]+)"', svg)
    xs_ys = [tuple(map(float, p.split(","))) for p in points.split()]
    assert len(xs_ys) == 4  # the NaN is left out
    assert [x for x, _ in xs_ys] == sorted(x for x, _ in xs_ys)
    assert [y for _, y in xs_ys] == sorted(y for _, y in xs_ys)  # falling values: y grows down
    assert "loss: 4 values, first 3, last 0.5, min 0.5, max 3" in svg
    assert "polyline" not in sparkline_svg([]) and "no values" in sparkline_svg([])
    assert "polyline" not in sparkline_svg([1.0]) and "<circle" in sparkline_svg([1.0])


needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="no Graphviz: apt-get install graphviz"
)


@needs_dot
def test_dot_svg_lays_out_a_graph() -> None:
    svg = dot_svg(f"digraph {{ {dot_quote('raw <data>')} -> b; b -> c; }}")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="node"') == 3 and svg.count('class="edge"') == 2
    assert "<title>raw &lt;data&gt;</title>" in svg
    assert "http" not in svg and "<?xml" not in svg and "<!--" not in svg
    page = html_page("graph", svg)
    assert "//" not in "".join(re.findall(r'href="([^"]*)"', page))


@needs_dot
def test_dot_svg_with_a_bad_graph_is_one_line() -> None:
    with pytest.raises(ReportError) as caught:
        dot_svg("digraph { a -> ")
    message = str(caught.value)
    assert message.startswith("Graphviz's dot failed: ") and "\n" not in message


def test_dot_svg_without_graphviz_is_one_line_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no dot on it
    with pytest.raises(ReportError) as caught:
        dot_svg("digraph { a -> b }")
    message = str(caught.value)
    assert "\n" not in message and "apt-get install graphviz" in message
