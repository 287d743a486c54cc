"""The `nemotron` command: artifacts and their lineage, the installed recipes, cluster tools.

```bash
nemotron artifact list                      # then show | lineage | verify | alias | publish
nemotron recipe pretrain -c tiny --dry-run  # every recipe of the installed families
nemotron kit squash PROFILE IMAGE           # an enroot image on a Slurm cluster
```

A thin app over `nemotron.registry` and `nemotron.kit`: the command line is built (and typer
imported) only when `main` runs, and the recipe families (the `nemotron.recipes` entry points)
are loaded only for `nemotron recipe …`.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the `nemotron` command on `argv` (default `sys.argv[1:]`); exits with its code."""
    from nemotron.app._commands import app

    app(args=None if argv is None else list(argv), prog_name="nemotron")
