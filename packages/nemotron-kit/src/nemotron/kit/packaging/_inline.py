"""The AST inliner behind `SelfContainedPackager`: a script and its own modules as one `main.py`.

It follows the script's imports (`import nemotron.x`, `from nemotron.x import y`, relative ones
inside the modules it inlines, imports nested in functions) transitively among the modules of
`prefix` it finds beside the script or on `sys.path`, plus the script's sibling modules (what
`python script.py` would import from its folder). Each module's source goes into `main.py`
verbatim, served at run time by a small import hook placed first on `sys.meta_path`, so the
modules keep their own names, globals, relative imports and `__module__` (pickling works); the
script's body follows, with its docstring and `from __future__` imports moved to the top.
Modules under `exclude` (and everything outside `prefix`) stay ordinary imports.
"""

from __future__ import annotations

import ast
import dataclasses
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from nemotron.kit.packaging._archive import parse_source, read_source
from nrun.exec.packaging import PackagingError

__all__ = ["Inlined", "inline"]

_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
_TRIES: tuple[type[ast.stmt], ...]
if sys.version_info >= (3, 11):
    _TRIES = (ast.Try, ast.TryStar)
else:
    _TRIES = (ast.Try,)


@dataclasses.dataclass
class _Module:
    name: str
    rel: str
    """Its file (or, for a namespace package, its folder) relative to the root it was found in."""
    package: bool
    search: list[Path]
    """Where its submodules are: its folder, or every portion of a namespace package."""
    file: Path | None = None
    """Its source file; None for a namespace package."""
    source: str | None = None


@dataclasses.dataclass
class Inlined:
    """The assembled `main.py` and the modules it holds, in the order they were found."""

    text: str
    modules: list[str]


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _guarded(handlers: Sequence[ast.ExceptHandler]) -> bool:
    """Whether a `try` catches an ImportError (then its imports are optional)."""
    for handler in handlers:
        kind = handler.type
        names = kind.elts if isinstance(kind, ast.Tuple) else [kind]
        for item in names:
            if item is None or (isinstance(item, ast.Name) and item.id in _IMPORT_ERRORS):
                return True
    return False


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


@dataclasses.dataclass
class _Import:
    names: list[str]
    """Modules that must exist (the imported one and its parents)."""
    maybe: list[str]
    """Names that are modules only perhaps (`from a import b`: `a.b`)."""
    optional: bool
    line: int
    star: bool = False


def _imports(tree: ast.AST, package: str | None) -> Iterator[_Import]:
    """Every import in `tree` with the modules it names, made absolute against `package`."""

    def parents(name: str) -> list[str]:
        parts = name.split(".")
        return [".".join(parts[: i + 1]) for i in range(len(parts))]

    def walk(node: ast.AST, optional: bool) -> Iterator[_Import]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield _Import(parents(alias.name), [], optional, node.lineno)
            return
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                if not package:
                    return  # a relative import in the script: it fails there as it does here
                parts = package.split(".")
                if node.level - 1 >= len(parts):
                    return
                anchor = ".".join(parts[: len(parts) - (node.level - 1)])
                base = f"{anchor}.{base}" if base else anchor
            star = any(a.name == "*" for a in node.names)
            maybe = [f"{base}.{a.name}" for a in node.names if a.name != "*"]
            yield _Import(parents(base), maybe, optional, node.lineno, star)
            return
        if isinstance(node, _TRIES):
            caught = _guarded(getattr(node, "handlers", []))
            for child in getattr(node, "body", []):
                yield from walk(child, optional or caught)
            for field in ("handlers", "orelse", "finalbody"):
                for child in getattr(node, field):
                    yield from walk(child, optional)
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from walk(child, True)
            for child in node.orelse:
                yield from walk(child, optional)
            return
        for child in ast.iter_child_nodes(node):
            yield from walk(child, optional)

    yield from walk(tree, False)


class _Finder:
    """Finds modules' files the way Python's path finder would, without importing anything."""

    def __init__(self, roots: Sequence[Path]):
        self.roots = list(dict.fromkeys(roots))
        self.found: dict[str, _Module | None] = {}

    def find(self, name: str) -> _Module | None:
        if name not in self.found:
            self.found[name] = self._find(name)
        return self.found[name]

    def _find(self, name: str) -> _Module | None:
        parent, _, last = name.rpartition(".")
        if parent:
            above = self.find(parent)
            if above is None or not above.package:
                return None
            places = above.search
        else:
            places = self.roots
        portions: list[Path] = []
        for place in places:
            folder = place / last
            rel = name.replace(".", "/")
            if (folder / "__init__.py").is_file():
                return _Module(name, f"{rel}/__init__.py", True, [folder], folder / "__init__.py")
            if (place / f"{last}.py").is_file():
                return _Module(name, f"{rel}.py", False, [], place / f"{last}.py")
            if folder.is_dir():
                portions.append(folder)
        if portions:
            return _Module(name, name.replace(".", "/"), True, portions)
        return None


def _roots(script: Path, top: str) -> list[Path]:
    """Folders to search: those around the script that hold `top` (or `src/top`), then sys.path."""
    found = [script.parent]
    for folder in (script.parent, *script.parent.parents):
        for candidate in (folder, folder / "src"):
            if (candidate / top).is_dir():
                found.append(candidate)
        if (folder / ".git").exists():
            break
    for entry in sys.path:
        if entry and Path(entry).is_dir():
            found.append(Path(entry))
    return [p.resolve() for p in found]


def _collect(
    kind: str, script: Path, tree: ast.Module, prefix: str, exclude: Sequence[str]
) -> list[_Module]:
    """The modules to inline, parents before children, in the order they were found."""
    finder = _Finder(_roots(script, prefix.split(".")[0]))
    siblings = _Finder([script.parent])

    def wanted(name: str) -> bool:
        if any(_under(name, e) for e in exclude):
            return False
        if _under(name, prefix):
            return True
        top = name.split(".")[0]
        sibling = siblings.find(top)  # `python script.py` imports these from its folder
        if sibling is None or sibling.file is None:
            return False
        found = finder.find(top)
        return found is not None and found.file == sibling.file

    chosen: dict[str, _Module] = {}
    queue: list[tuple[ast.AST, str | None, Path]] = [(tree, None, script)]
    while queue:
        node, package, where = queue.pop(0)
        for imp in _imports(node, package):
            if imp.star and wanted(imp.names[-1]):
                raise PackagingError(
                    f"{kind}: '{where}:{imp.line}' star-imports {imp.names[-1]}, which would be "
                    "inlined; import the names it uses instead"
                )
            for name, required in [
                *((n, True) for n in imp.names),
                *((n, False) for n in imp.maybe),
            ]:
                if name in chosen or not wanted(name):
                    continue
                module = finder.find(name)
                if module is None:
                    if required and not imp.optional:
                        raise PackagingError(
                            f"{kind}: cannot find module '{name}' imported at '{where}:{imp.line}' "
                            "(looked beside the script and on sys.path)"
                        )
                    continue
                chosen[name] = module
                if module.file is not None:
                    module.source = read_source(kind, module.file)
                    mod_tree = parse_source(kind, module.file, module.source)
                    here = name if module.package else name.rpartition(".")[0]
                    queue.append((mod_tree, here or None, module.file))
    return list(chosen.values())


def _split_script(kind: str, script: Path, text: str, tree: ast.Module) -> tuple[str, str, str]:
    """The script's docstring, its `from __future__` imports, and the rest of its text."""
    lines = text.splitlines(keepends=True)
    body = tree.body
    first = body[0] if body else None
    docstring = (
        first
        if isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        else None
    )
    head: list[ast.stmt] = [docstring] if docstring is not None else []
    head += [n for n in body if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    taken: set[int] = set()
    for node in head:
        taken.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    for node in body:
        if node in head:
            continue
        if taken & set(range(node.lineno, (node.end_lineno or node.lineno) + 1)):
            raise PackagingError(
                f"{kind}: '{script}:{node.lineno}' shares a line with the docstring or a "
                "`from __future__` import; put those on lines of their own"
            )

    def text_of(node: ast.stmt) -> str:
        return "".join(lines[node.lineno - 1 : node.end_lineno]).rstrip() + "\n"

    doc = text_of(docstring) if docstring is not None else ""
    futures = "".join(text_of(n) for n in head if isinstance(n, ast.ImportFrom))
    rest = "".join(line for i, line in enumerate(lines, 1) if i not in taken)
    return doc, futures, rest


_HOOK = """def __nemotron_kit_inline__(modules):
    import importlib.abc
    import importlib.machinery
    import importlib.util
    import os
    import sys

    root = os.path.dirname(os.path.abspath(__file__))

    class Loader(importlib.abc.InspectLoader):
        def __init__(self, name):
            self.name = name

        def get_source(self, fullname):
            return modules[fullname][2] or ""

        def is_package(self, fullname):
            return modules[fullname][1]

        def get_filename(self, fullname):
            return os.path.join(root, modules[fullname][0])

        def exec_module(self, module):
            source = self.get_source(module.__name__)
            filename = self.get_filename(module.__name__)
            exec(compile(source, filename, "exec", dont_inherit=True), module.__dict__)

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            entry = modules.get(fullname)
            if entry is None:
                return None
            rel, package, source = entry
            if source is None:  # a namespace package: portions installed there still count
                spec = importlib.machinery.PathFinder.find_spec(fullname, path)
                if spec is not None:
                    return spec
                return importlib.machinery.ModuleSpec(fullname, Loader(fullname), is_package=True)
            folder = [os.path.dirname(os.path.join(root, rel))] if package else None
            return importlib.util.spec_from_file_location(
                fullname, os.path.join(root, rel), loader=Loader(fullname),
                submodule_search_locations=folder,
            )

    sys.meta_path.insert(0, Finder())
"""


def inline(
    kind: str, script: Path, prefix: str, exclude: Sequence[str], argv_prelude: str
) -> Inlined:
    """`main.py` for `script`: its own modules inlined, `argv_prelude` run before its body."""
    text = read_source(kind, script)
    tree = parse_source(kind, script, text)
    modules = _collect(kind, script, tree, prefix, exclude)
    doc, futures, rest = _split_script(kind, script, text, tree)
    table = "".join(
        f"        {m.name!r}: ({m.rel!r}, {m.package!r}, {m.source!r}),\n" for m in modules
    )
    names = ", ".join(m.name for m in modules) or "none"
    header = (
        f"# Made by nemotron.kit's SelfContainedPackager from {script.name}; "
        f"inlined modules: {names}.\n"
    )
    out = [
        header,
        doc,
        futures,
        "\n",
        argv_prelude,
        "\n\n",
        _HOOK,
        "\n\n",
        "__nemotron_kit_launch__()\n",
        "__nemotron_kit_inline__(\n    {\n" + table + "    }\n)\n",
        "del __nemotron_kit_launch__, __nemotron_kit_inline__\n",
        f"# --- {script.name} ---\n",
        rest,
    ]
    return Inlined("".join(out), [m.name for m in modules])
