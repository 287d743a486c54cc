"""Packagers that ship a recipe to where nrun's executors run it (Docker, Slurm, local).

Both are nrun `Packager`s (`nrun.exec.packaging`): they write `<job dir>/code.tar.gz`, which
the executor unpacks and puts first on `PYTHONPATH`. The archive holds `main.py`, a launcher,
and `config.yaml`, the job's config; the kit's task is
`Partial(runpy.run_module, mod_name="main", run_name="__main__", alter_sys=True)`, so the
remote side needs nothing of the kit to start. `main.py` runs the script with
`--config <abs path of config.yaml> [argv...]`.

- `CodePackager`: the script's git repository (tracked and untracked-but-not-ignored files),
  cached by content digest so an unchanged repository is not packed again.
- `SelfContainedPackager`: one `main.py` with the script's `nemotron.*` modules inlined by an
  AST inliner, plus the files the config names; no install needed where it runs.
"""

from __future__ import annotations

from nemotron.kit.packaging.code_packager import CodePackager
from nemotron.kit.packaging.self_contained_packager import SelfContainedPackager

__all__ = ["CodePackager", "SelfContainedPackager"]
