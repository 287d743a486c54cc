"""The package's modules import each other one way only (no cycle, even a hidden one)."""

from __future__ import annotations

import ast
from pathlib import Path

import nrun.exec.slurm

PACKAGE = Path(nrun.exec.slurm.__file__).parent
NAME = "nrun.exec.slurm"


def _siblings(path: Path) -> set[str]:
    """The package's modules `path` imports anywhere: at the top, under TYPE_CHECKING, or in a
    function body."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found |= {n.removeprefix(f"{NAME}.") for n in names if n.startswith(f"{NAME}._")}
    return {n for n in found if (PACKAGE / f"{n}.py").exists()} - {path.stem}


def test_private_modules_import_each_other_one_way() -> None:
    graph = {p.stem: _siblings(p) for p in PACKAGE.glob("_*.py") if p.stem != "__init__"}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = " -> ".join([*path[path.index(module) :], module])
            raise AssertionError(f"import cycle: {cycle}")
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert graph["_sbatch"] == set()  # the renderer reads the executor through a Protocol
    assert "_executor" not in set().union(*graph.values())
