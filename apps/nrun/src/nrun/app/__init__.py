"""The `nrun` command: run any importable function, follow experiments, list executors.

```bash
nrun run train:main model.size=256 run.executor=slurm --yes   # every option of nrun.cli
nrun experiment list                                         # then show | status | logs | cancel
nrun executors                                               # installed executors, their fields
```

A thin app over `nrun.cli` and `nrun.exec`: the command line is built (and typer imported) only
when `main` runs.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the `nrun` command on `argv` (default `sys.argv[1:]`); exits with its code."""
    from nrun.app._commands import app

    app(args=None if argv is None else list(argv), prog_name="nrun")
