"""The package's shape: small modules, arrows one way, no fiddle, one colour table, fork-safe."""

from __future__ import annotations

import ast
import io
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

import jobs
from nrun.config import Partial
from nrun.exec import _launcher
from nrun.exec import local as local_module
from nrun.exec.base import STATE_COLORS, Job, JobState
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor

SRC = Path(__file__).resolve().parents[1] / "src" / "nrun" / "exec"
MODULES = {f"nrun.exec.{p.stem}": p for p in sorted(SRC.glob("*.py"))}


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top, under TYPE_CHECKING or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_modules_are_small_and_say_what_they_export() -> None:
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        assert ast.get_docstring(tree), name
        assert len(path.read_text().splitlines()) <= 400, name
        exported = [
            node
            for node in tree.body
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        ]
        assert exported, f"{name} has no __all__"


def test_the_detached_entry_point_still_answers() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nrun.exec.experiment"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (
        2,
        "usage: python -m nrun.exec.experiment <experiment dir>\n",
    )


def test_no_import_cycles_inside_the_package() -> None:
    graph = {name: imports(path) & set(MODULES) for name, path in MODULES.items()}
    cycles = []

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycles.append(" -> ".join([*trail[trail.index(name) :], name]))
            return
        for other in sorted(graph[name]):
            visit(other, [*trail, name])

    for name in graph:
        visit(name, [])
    assert cycles == []


def test_fiddle_is_never_imported_here() -> None:
    """nrun-exec-local does not declare fiddle: it asks nrun.config instead."""
    users = [
        name
        for name, path in MODULES.items()
        if any(m == "fiddle" or m.startswith("fiddle.") for m in imports(path))
    ]
    assert users == []


def test_one_did_you_mean_and_one_colour_table() -> None:
    for name, path in MODULES.items():
        text = path.read_text()
        assert "difflib" not in text, name
        assert '"green"' not in text or name == "nrun.exec.base", name


def test_experiment_tables_take_their_colours_from_state_colors(
    local: Callable[..., LocalExecutor], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    exp = Experiment("colours", executor=local())
    exp.add(Partial(jobs.echo), name="ok")
    exp.run()
    monkeypatch.setitem(STATE_COLORS, JobState.SUCCEEDED, "magenta")
    out = io.StringIO()
    exp.show(Console(file=out, force_terminal=True, color_system="standard", width=200))
    assert "\x1b[35mSUCCEEDED" in out.getvalue()


def test_a_forked_child_forgets_the_processes_of_its_parent(
    local: Callable[..., LocalExecutor], tmp_path: Path
) -> None:
    """The supervisors and launchers this process started are not a forked child's to reap."""
    from nrun.config import dump

    executor = local(job_dir=str(tmp_path / "job"))
    config = dump(Partial(jobs.echo), tmp_path / "echo.yaml")
    executor.launch(Job("echo", config))
    exp = Experiment("forked", executor=local())
    exp.add(Partial(jobs.echo), name="t")
    exp.run(detach=True)
    assert local_module._children
    assert _launcher._launchers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: report and leave at once, running nothing of pytest's
        os._exit(0 if not local_module._children and not _launcher._launchers else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert local_module._children  # the parent's are kept
    exp.wait(30)


def test_the_supervisor_starts_on_the_standard_library_alone(tmp_path: Path) -> None:
    """It imports `nrun.config.atomic` for its records, and nothing heavy with it."""
    probe = (
        "import sys, nrun.exec._supervisor; "
        "print(sorted(m for m in ('fiddle', 'yaml', 'rich', 'omegaconf') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == "[]\n"
    done = subprocess.run(
        [sys.executable, "-m", "nrun.exec._supervisor", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (
        1,
        f"nrun supervisor: no job in '{tmp_path / 'supervisor.json'}'\n",
    )
