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
    """Run `cli.main(fn, argv=args)` in this process and return what happened.

    It takes the same path as a real program (the fast parser, then typer for help and
    completion), with stdin, stdout, stderr and the environment swapped while it runs.
    """
    import contextlib
    import io
    import os
    import sys

    from nrun.cli._main import main

    environment = {"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb", **(env or {})}
    saved = {key: os.environ.get(key) for key in environment}
    out, err = io.StringIO(), io.StringIO()
    stdin = sys.stdin
    code, exception = 0, None
    try:
        os.environ.update(environment)
        sys.stdin = io.StringIO(input or "")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(
                fn,
                argv=list(args),
                default_factory=default_factory,
                default_executor=default_executor,
                prog="cli",
            )
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:  # an error of nrun itself: the test shows it
        code, exception = 1, exc
    finally:
        sys.stdin = stdin
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return CliResult(code, out.getvalue(), err.getvalue(), exception)
