"""The task runner: `python -m nrun.exec.task <config file>` builds the task and calls it.

This is what every executor runs where the job lands. The config file is a task exported by
`nrun.config` (the `_target_` format); a `Partial` is built and called, a `Config` built. The
exit code is 0 on success, 1 when the task raises (its traceback goes to the log), 2 when the
config file cannot be loaded, and the task's own code when it calls `sys.exit`.
"""

from __future__ import annotations

import sys
import traceback

__all__ = ["load_task", "main", "run_config", "run_file"]


def run_file(path: str) -> object:
    """Load the task config in `path`, build it and call it; return what it returns."""
    return run_config(load_task(path))


def load_task(path: str) -> object:
    """The task config in `path` (a `ConfigError` if it cannot be loaded)."""
    from nrun.config import load

    return load(path)


def run_config(config: object) -> object:
    """Build `config`; call it if it is a `Partial`."""
    import fiddle as fdl

    from nrun.config import build

    built = build(config)
    return built() if isinstance(config, fdl.Partial) else built


def main(argv: list[str] | None = None) -> int:
    """Run the task in the config file given on the command line; return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        usage = "usage: python -m nrun.exec.task <config file (.yaml, .toml or .json)>"
        print(usage, file=sys.stderr)
        return 0 if args and args[0] in ("-h", "--help") else 2
    from nrun.config import ConfigError

    try:
        config = load_task(args[0])
    except ConfigError as exc:
        print(f"nrun.exec.task: {exc}", file=sys.stderr)
        return 2
    try:
        run_config(config)
    except KeyboardInterrupt:
        return 130
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
