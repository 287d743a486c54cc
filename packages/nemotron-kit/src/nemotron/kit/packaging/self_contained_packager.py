"""`SelfContainedPackager`: the recipe script with its own modules inlined into one `main.py`.

The archive holds `main.py`, the job's config as `config.yaml`, and the files the config names
by relative paths (a blend's JSON, a vocabulary), at those paths, so the remote side needs no
install of the recipe's package. The inliner (`_inline.py`) follows the script's `nemotron.*`
imports transitively and embeds each module's source; `from nemotron.x import *` is refused.
The kit's own libraries (`exclude`, by default `nemotron.kit` and `nemotron.registry`) stay
ordinary imports: where the script imports them, the remote Python must have `nemotron-kit`
installed, as it must have the script's third-party imports.
"""

from __future__ import annotations

import dataclasses
import re
import tarfile
from collections.abc import Sequence
from pathlib import Path

from nemotron.kit.packaging._archive import (
    ARCHIVE,
    CONFIG,
    LAUNCHER,
    add_text,
    check_inputs,
    prelude,
)
from nemotron.kit.packaging._inline import inline
from nrun.config.atomic import atomic_path
from nrun.exec.packaging import Packager, PackagingError

__all__ = ["SelfContainedPackager"]

KIND = "SelfContainedPackager"
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


@dataclasses.dataclass(kw_only=True)
class SelfContainedPackager(Packager):
    """One `main.py` holding the script and the modules of `inline_package` it imports.

    `main.py`, run as `runpy.run_module("main", run_name="__main__", alter_sys=True)` with the
    unpacked archive first on `PYTHONPATH`, puts its folder first on `sys.path`, sets
    `sys.argv = [<main.py>, "--config", <abs path of config.yaml>, *argv]`, installs the
    inlined modules and runs the script's body, in the working directory the executor chose.

    Args:
        script_path: The recipe script (absolute, or relative to the packaged source).
        train_path: The job's config, shipped as `config.yaml`.
        argv: Arguments passed on to the script after `--config`.
        inline_package: The package prefix whose modules are inlined.
        exclude: Prefixes under `inline_package` kept as imports (installed where the job runs).
    """

    script_path: str
    train_path: str
    argv: list[str] = dataclasses.field(default_factory=list)
    inline_package: str = "nemotron"
    exclude: tuple[str, ...] = ("nemotron.kit", "nemotron.registry")

    def package(self, source: Path, job_dir: Path) -> Path:
        """Write `job_dir/code.tar.gz`: `main.py`, `config.yaml` and the files it names."""
        for prefix in (self.inline_package, *self.exclude):
            if not isinstance(prefix, str) or not _DOTTED.fullmatch(prefix):
                raise PackagingError(f"{KIND}: {prefix!r} is not a dotted module name")
        source = Path(source)
        script, train = check_inputs(KIND, self.script_path, self.train_path, source)
        inlined = inline(KIND, script, self.inline_package, self.exclude, self._prelude())
        bases = [source.resolve(), script.parent, *_project_roots(script)]
        extra = {
            rel: path
            for rel, path in _referenced_files(_load_config(train), bases).items()
            if rel not in (LAUNCHER, CONFIG)
        }

        def write(tmp: Path) -> None:
            with tarfile.open(tmp, "w:gz") as archive:
                add_text(archive, LAUNCHER, inlined.text)
                archive.add(train, arcname=CONFIG, recursive=False)
                for rel, path in sorted(extra.items()):
                    archive.add(path, arcname=rel, recursive=False)

        job_dir = Path(job_dir)
        job_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(job_dir / ARCHIVE, mode=0o644) as tmp:
            write(tmp)
        return job_dir / ARCHIVE

    def _prelude(self) -> str:
        return prelude(["."], LAUNCHER, self.argv)


def _load_config(train: Path) -> object:
    import yaml

    try:
        return yaml.safe_load(train.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split())
        raise PackagingError(f"{KIND}: config '{train}' is not valid YAML: {reason}") from None


def _project_roots(script: Path) -> list[Path]:
    """The folders above the script up to its project root (the one with `.git`)."""
    found: list[Path] = []
    for folder in script.parent.parents:
        found.append(folder)
        if (folder / ".git").exists():
            return found
    return []


def _referenced_files(config: object, bases: Sequence[Path]) -> dict[str, Path]:
    """Files named by relative paths among a config's strings, found under one of `bases`."""
    found: dict[str, Path] = {}

    def visit(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)
        elif isinstance(value, str) and value and "${" not in value and "\n" not in value:
            rel = Path(value)
            if rel.is_absolute() or ".." in rel.parts or "://" in value or rel.as_posix() in found:
                return
            for base in bases:
                try:
                    if (base / rel).is_file():
                        found[rel.as_posix()] = base / rel
                        return
                except OSError:  # a name too long for the filesystem, say
                    return

    visit(config)
    return found
