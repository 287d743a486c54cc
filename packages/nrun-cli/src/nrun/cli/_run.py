"""One command line of an entrypoint, once parsed: resolve, show, confirm, then run or launch.

Below the typer command (`_command`), which parses the options into `RunOptions` and calls
`run_entrypoint`; nothing here imports typer except to ask for confirmation.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from nrun.cli._entrypoint import Entrypoint

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "RunOptions", "run_entrypoint"]

EXIT_USAGE = 2
THEMES = ("dark", "light", "monochrome")
EXIT_FAILED = 1


class RunOptions:
    """The RunContext options of one command line, as typer parsed them."""

    def __init__(self, **values: Any):
        self.name: str | None = values.get("name")
        self.direct: bool = values.get("direct", False)
        self.dryrun: bool = values.get("dryrun", False)
        self.factory: str | None = values.get("factory")
        self.load: str | None = values.get("load")
        self.yaml: str | None = values.get("yaml")
        self.repl: bool = values.get("repl", False)
        self.detach: bool = values.get("detach", False)
        self.yes: bool = values.get("yes", False)
        self.tail_logs: bool = values.get("tail_logs", False)
        self.verbose: bool = values.get("verbose", False)
        self.rich_exceptions: bool = values.get("rich_exceptions", False)
        self.rich_traceback_short: bool = values.get("rich_traceback_short", False)
        self.rich_show_locals: bool = values.get("rich_show_locals", True)
        self.rich_theme: str | None = values.get("rich_theme")
        self.to_yaml: str | None = values.get("to_yaml")
        self.to_toml: str | None = values.get("to_toml")
        self.to_json: str | None = values.get("to_json")
        self.lazy: bool = values.get("lazy", False)
        self.multirun: bool = values.get("multirun", False)


def _console(options: RunOptions) -> Any:
    from rich.console import Console

    return Console(no_color=options.rich_theme == "monochrome")


def _usage_error(options: RunOptions, message: str, code: int = EXIT_USAGE) -> int:
    """Print `message` as one line (the traceback too with --verbose); return `code`."""
    if options.verbose:
        traceback.print_exc()
    print(message, file=sys.stderr)
    return code


def run_entrypoint(
    entry: Entrypoint,
    arguments: Sequence[str],
    options: RunOptions,
    *,
    default_factory: Callable[..., Any] | None = None,
    default_executor: Any = None,
) -> int:
    """Resolve, show, confirm and run one entrypoint; return the exit code."""
    from nrun.cli._resolve import CLIError, resolve_run, split_run
    from nrun.config import ConfigError
    from nrun.exec.base import ExecutorError

    fn = entry.fn
    task_overrides, run_overrides = split_run(arguments)
    try:
        if options.rich_theme not in (None, *THEMES):
            raise CLIError(
                f"--rich-theme {options.rich_theme!r} is not a theme: use {', '.join(THEMES)}"
            )
        configs = _tasks(entry, task_overrides, options, default_factory)
        settings = resolve_run(run_overrides, default_executor)
        if settings.executor is not None:
            try:
                settings.executor.validate()
            except ExecutorError as exc:
                given = " ".join(run_overrides) or "the default executor"
                raise CLIError(f"Invalid run.executor ({given}): {exc}") from None
    except (ConfigError, CLIError, ExecutorError) as exc:
        return _usage_error(options, str(exc))
    config = configs[0][1]

    exports = [
        (p, fmt)
        for p, fmt in (
            (options.to_yaml, "yaml"),
            (options.to_toml, "toml"),
            (options.to_json, "json"),
        )
        if p
    ]
    if exports and len(configs) > 1:
        return _usage_error(options, "an export writes one task: leave out --multirun")
    if exports:
        from nrun.cli._display import show_export
        from nrun.config import dump

        console = _console(options)
        for path, fmt in exports:
            try:
                written = dump(config, path)
            except (ConfigError, OSError) as exc:
                return _usage_error(options, f"cannot export to '{path}': {exc}")
            show_export(console, str(path), written.read_text(), fmt)
        return 0

    executor = None if options.direct else settings.executor
    if executor is None and len(configs) > 1:  # a sweep is one Experiment, run here by default
        from nrun.exec.local import LocalExecutor

        executor = LocalExecutor()
    remote = executor is not None and getattr(executor, "name", "") != "local"
    interactive = sys.stdin.isatty()
    ask = (
        interactive
        and not options.yes
        and entry.require_confirmation
        and not entry.skip_confirmation
    )
    shown = options.dryrun or ask or executor is not None  # what goes to an executor is shown
    if shown:
        from nrun.cli._display import executor_line, resolved_table

        console = _console(options)
        console.print("Configuring global options")
        module = getattr(fn, "__module__", "")
        for name, task in configs:
            label = f"{module}:{fn.__name__}" + (f" ({name})" if len(configs) > 1 else "")
            console.print(f"Dry run for task {label}")
            console.print(resolved_table(task))
        console.print(executor_line(executor))
    if options.dryrun:
        console.print(f"Dry run for {entry.name}:")
        return 0
    if ask:
        import typer

        if not typer.confirm("Continue?", default=False):
            print("Cancelled.", file=sys.stderr)
            return EXIT_FAILED
    if shown and executor is None:
        print(f"Launching {entry.name}...", flush=True)
    elif remote and not interactive and not options.yes:
        return _usage_error(
            options,
            f"refusing to launch on {executor.describe()} without confirmation: stdin is not a "  # type: ignore[union-attr]
            "terminal; pass --yes",
        )
    if options.repl:
        return _repl(config, options)
    if executor is None:
        return _direct(config, options)
    from nrun.config.atomic import WriteError

    try:
        return _through_experiment(entry, configs, settings, executor, options)
    except WriteError as exc:  # a full disk: not the user's mistake, so exit 1
        return _usage_error(options, str(exc), EXIT_FAILED)


def _tasks(
    entry: Entrypoint,
    overrides: list[str],
    options: RunOptions,
    default_factory: Callable[..., Any] | None,
) -> list[tuple[str, Any]]:
    """The task(s) to run as (name, config): one, or one per point of a `--multirun` sweep."""
    import copy

    from nrun.cli._resolve import CLIError, base_config, resolve_task
    from nrun.config import expand_sweeps, has_sweeps, missing_arguments

    sources = {"factory": options.factory, "yaml": options.yaml, "load": options.load}
    sweeping = has_sweeps(overrides)
    if sweeping and not options.multirun:
        raise CLIError(
            f"{' '.join(o for o in overrides if ',' in o)}: a sweep (a=1,2) needs --multirun/-m"
        )
    points = [[o.text for o in point] for point in expand_sweeps(overrides)]
    if options.lazy:
        from nrun.cli._lazy import lazy_task

        return _named(entry, [lazy_task(entry.fn, point, **sources) for point in points])
    base = base_config(entry.fn, default_factory=default_factory, **sources)
    configs = [resolve_task(entry.fn, copy.deepcopy(base), p) for p in points]
    missing = missing_arguments(configs[0])
    if missing:
        wanted = " ".join(f"{name}=..." for name in missing)
        raise CLIError(
            f"{entry.name} is missing required argument(s): {', '.join(missing)} (give {wanted})"
        )
    return _named(entry, configs)


def _named(entry: Entrypoint, configs: list[Any]) -> list[tuple[str, Any]]:
    if len(configs) == 1:
        return [(entry.name, configs[0])]
    return [(f"{entry.name}-{i}", config) for i, config in enumerate(configs)]


def _report(exc: BaseException, options: RunOptions) -> None:
    """The user's exception with its traceback: plain, or rich when asked."""
    if options.rich_exceptions:
        from rich.console import Console
        from rich.traceback import Traceback

        Console(stderr=True, no_color=options.rich_theme == "monochrome").print(
            Traceback.from_exception(
                type(exc),
                exc,
                exc.__traceback__,
                show_locals=options.rich_show_locals,
                max_frames=5 if options.rich_traceback_short else 100,
            )
        )
    else:
        traceback.print_exception(type(exc), exc, exc.__traceback__)


def _direct(config: Any, options: RunOptions) -> int:
    """Build the task and call it in this process."""
    from nrun.config import build

    try:
        task = build(config)
        task()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        _report(exc, options)
        return EXIT_FAILED
    return 0


def _through_experiment(
    entry: Entrypoint,
    configs: list[tuple[str, Any]],
    settings: Any,
    executor: Any,
    options: RunOptions,
) -> int:
    """Launch the task(s) on `executor` as one Experiment (recorded in the store)."""
    from nrun.exec.base import JobState
    from nrun.exec.experiment import Experiment

    title = settings.name or options.name or entry.name
    experiment = Experiment(title, executor=executor, plugins=settings.plugins)
    for name, config in configs:
        experiment.add(config, name=name)
    print(f"Launching {entry.name}... (experiment {experiment.id})", flush=True)
    experiment.run(detach=options.detach, tail_logs=options.tail_logs)
    if options.detach:
        print(f"Detached: follow it with `nrun experiment status {experiment.id}`", file=sys.stderr)
        return 0
    states = experiment.status()
    if not options.tail_logs:
        for name, _ in configs:
            text = experiment.logs(name)
            if text:
                print(
                    f"[{name}] " + text.replace("\n", f"\n[{name}] ") if len(configs) > 1 else text
                )
    if len(configs) > 1:
        experiment.show()
    return 0 if all(s == JobState.SUCCEEDED for s in states.values()) else EXIT_FAILED


def _repl(config: Any, options: RunOptions) -> int:
    """An interactive shell with `config` bound; `run()` builds and calls it as it is then."""
    import code

    namespace: dict[str, Any] = {"config": config}

    def run() -> None:
        _direct(namespace["config"], options)

    namespace["run"] = run
    banner = "nrun REPL: `config` holds the resolved task; edit it, then call run()"
    code.interact(banner=banner, local=namespace, exitmsg="")
    return 0
