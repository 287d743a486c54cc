"""Test your own entrypoints: run a command line in-process and look at what it printed.

```python
from nrun.cli.testing import run_cli

def test_train():
    result = run_cli(train, ["model=alexnet", "epochs=5"])
    assert result.exit_code == 0
    assert "Training alexnet for 5 epochs" in result.stdout
```

Output is captured as it would appear on a terminal 120 columns wide, without colours, and
stdin is not a terminal (so nothing asks for confirmation; pass `input=` to answer the REPL).
Needs typer (a dependency of nrun-cli).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["CliResult", "run_cli"]


@dataclasses.dataclass(frozen=True)
class CliResult:
    """What a command line did: its exit code, its output, and an exception it let out."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None


def run_cli(
    fn: Callable[..., Any] | Mapping[str, Callable[..., Any]],
    args: Sequence[str],
    *,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    default_factory: Callable[..., Any] | None = None,
    default_executor: Any = None,
) -> CliResult:
    """Run `cli.main(fn, ...)` on `args` in this process and return what happened."""
    from typer.testing import CliRunner

    from nrun.cli._command import build_app

    app = build_app(fn, default_factory=default_factory, default_executor=default_executor)
    environment = {"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb", **(env or {})}
    result = CliRunner().invoke(app, list(args), input=input, env=environment)
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return CliResult(result.exit_code, result.stdout, result.stderr, exception)
