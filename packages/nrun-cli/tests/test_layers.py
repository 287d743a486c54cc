"""How nrun-cli's modules import: never fiddle, one "did you mean", arrows one way.

Read from the source with `ast`, so an import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nrun.cli

SOURCE = Path(nrun.cli.__file__).resolve().parent


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """Every import in `path`, anywhere: (module, names imported from it)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def modules() -> dict[str, Path]:
    return {
        "nrun.cli" + ("" if p.stem == "__init__" else f".{p.stem}"): p
        for p in sorted(SOURCE.glob("*.py"))
    }


def test_no_module_imports_fiddle() -> None:
    """nrun-cli does not depend on fiddle: it uses nrun.config's fiddle-free helpers."""
    offenders = [
        f"{name}: {module}"
        for name, path in modules().items()
        for module, _ in imports(path)
        if module.split(".")[0] == "fiddle"
    ]
    assert offenders == []


def test_did_you_mean_is_nrun_config_s() -> None:
    offenders = [
        name
        for name, path in modules().items()
        for module, _ in imports(path)
        if module == "difflib"
    ]
    assert offenders == []
    users = [
        name
        for name, path in modules().items()
        if any(m == "nrun.config" and "did_you_mean" in n for m, n in imports(path))
    ]
    assert users == ["nrun.cli._command", "nrun.cli._lazy", "nrun.cli._resolve"]


def test_the_modules_import_each_other_one_way() -> None:
    names = modules()
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        graph[name] = set()
        for module, imported in imports(path):
            targets = [module, *(f"{module}.{n}" for n in imported)]
            graph[name] |= {t for t in targets if t in names and t != name}
    graph["nrun.cli"].clear()  # the package re-exports its modules; none imports it back

    def cycle_from(start: str, node: str, seen: tuple[str, ...]) -> tuple[str, ...] | None:
        for nxt in sorted(graph[node]):
            if nxt == start:
                return (*seen, nxt)
            if nxt not in seen:
                found = cycle_from(start, nxt, (*seen, nxt))
                if found:
                    return found
        return None

    cycles = [c for n in names if (c := cycle_from(n, n, (n,)))]
    assert cycles == []
