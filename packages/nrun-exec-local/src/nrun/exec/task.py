"""The task runner: `python -m nrun.exec.task <config file>` builds the task and calls it.

This is what every executor runs where the job lands. The config file is a task exported by
`nrun.config` (the `_target_` format); a `Partial` is built and called, a `Config` built. It is
built with `nrun.config.instantiate`, which does not import fiddle, so a job starts fast. The
exit code is 0 on success, 1 when the task raises (its traceback goes to the log), 2 when the
config file cannot be loaded, and the task's own code when it calls `sys.exit`.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["load_task", "main", "run_data", "run_file"]


def load_task(path: str) -> dict[str, Any]:
    """The data of the task file, every `_target_` imported; `ConfigError` if it can't be."""
    from nrun.config import ConfigFileError, read_file

    data = read_file(path)
    if not isinstance(data, dict) or "_target_" not in data:
        raise ConfigFileError("a task file is a mapping with a _target_ at the top", file=path)
    _import_targets(data, path)
    return data


def _import_targets(data: Any, path: str) -> None:
    from nrun.config import ConfigError, ConfigFileError, locate

    if isinstance(data, list):
        for item in data:
            _import_targets(item, path)
    elif isinstance(data, dict):
        if isinstance(data.get("_target_"), str):
            try:
                locate(data["_target_"])
            except ConfigError as exc:
                raise ConfigFileError(exc.detail, file=path) from None
        for value in data.values():
            _import_targets(value, path)


def run_data(data: dict[str, Any]) -> object:
    """Build the task; call it when it is a partial (`_partial_: true`); return the result."""
    from nrun.config import instantiate

    built = instantiate(data)
    return built() if data.get("_partial_") is True else built


def run_file(path: str) -> object:
    """Load, build and call the task in `path`; return what it returns."""
    return run_data(load_task(path))


def main(argv: list[str] | None = None) -> int:
    """Run the task in the config file given on the command line; return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        usage = "usage: python -m nrun.exec.task <config file (.yaml, .toml or .json)>"
        print(usage, file=sys.stderr)
        return 0 if args and args[0] in ("-h", "--help") else 2
    from nrun.config import ConfigError

    try:
        data = load_task(args[0])
    except ConfigError as exc:
        print(f"nrun.exec.task: {exc}", file=sys.stderr)
        return 2
    try:
        run_data(data)
    except KeyboardInterrupt:
        return 130
    except Exception:
        import traceback

        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
