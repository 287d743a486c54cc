"""What both packagers share: input checks, the launcher's prelude, and atomic archive writes."""

from __future__ import annotations

import ast
import io
import tarfile
import tokenize
from collections.abc import Sequence
from pathlib import Path

from nrun.exec.packaging import PackagingError

__all__ = [
    "ARCHIVE",
    "CONFIG",
    "LAUNCHER",
    "add_text",
    "check_inputs",
    "parse_source",
    "prelude",
    "read_source",
]

ARCHIVE = "code.tar.gz"
"""The archive nrun's executors unpack into `<job dir>/code`."""
LAUNCHER = "main.py"
CONFIG = "config.yaml"


def check_inputs(kind: str, script_path: str, train_path: str, source: Path) -> tuple[Path, Path]:
    """The script and the config as absolute paths (relative ones are under `source`).

    Raises:
        PackagingError: one line, when either is not a file or the script does not parse.
    """
    script = Path(script_path).expanduser()
    train = Path(train_path).expanduser()
    script = (script if script.is_absolute() else source / script).resolve()
    train = (train if train.is_absolute() else source / train).resolve()
    if not script.is_file():
        raise PackagingError(f"{kind}: script '{script}' is not a file")
    if not train.is_file():
        raise PackagingError(f"{kind}: config '{train}' is not a file")
    parse_source(kind, script)
    return script, train


def read_source(kind: str, path: Path) -> str:
    """A Python file's text, decoded as Python does (PEP 263 coding cookies)."""
    try:
        with tokenize.open(path) as handle:
            return handle.read()
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split())
        raise PackagingError(f"{kind}: cannot read '{path}': {reason}") from None


def parse_source(kind: str, path: Path, text: str | None = None) -> ast.Module:
    """The AST of a Python file; a syntax error is one line naming the file and line."""
    text = read_source(kind, path) if text is None else text
    try:
        return ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        where = f"{path}:{exc.lineno}" if exc.lineno else str(path)
        raise PackagingError(f"{kind}: syntax error in '{where}': {exc.msg}") from None


def prelude(paths: Sequence[str], argv0: str, argv: Sequence[str]) -> str:
    """Launcher lines: `paths` (relative to main.py's folder) first on `sys.path`, then `sys.argv`.

    `sys.argv` becomes `[<argv0>, "--config", <abs config.yaml beside main.py>, *argv]`; the
    working directory is left alone. Names are bound in a function so the script's globals
    stay its own.
    """
    dirs = ", ".join(repr(p) for p in paths)
    return (
        "def __nemotron_kit_launch__():\n"
        "    import os\n"
        "    import sys\n"
        "\n"
        "    root = os.path.dirname(os.path.abspath(__file__))\n"
        f"    paths = [os.path.normpath(os.path.join(root, p)) for p in ({dirs},)]\n"
        "    sys.path[:] = paths + [p for p in sys.path if p not in paths]\n"
        f"    sys.argv = [os.path.join(root, {argv0!r}), '--config', "
        f"os.path.join(root, {CONFIG!r}), *{list(argv)!r}]\n"
        f"    return os.path.join(root, {argv0!r})\n"
    )


def add_text(archive: tarfile.TarFile, name: str, text: str, mode: int = 0o644) -> None:
    """Add a member holding `text` (UTF-8) to an open archive."""
    data = text.encode("utf-8")
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    archive.addfile(info, io.BytesIO(data))
