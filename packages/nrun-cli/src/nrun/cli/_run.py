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

    task_overrides, run_overrides = split_run(arguments)
    try:
        settings = resolve_run(run_overrides, default_executor)
        _merge_run_settings(options, settings)
        exports = _exports(options)
        _check_options(options, exports)
        configs = _tasks(entry, task_overrides, options, default_factory, exporting=bool(exports))
        if settings.executor is not None:
            try:
                settings.executor.validate()
            except ExecutorError as exc:
                given = " ".join(run_overrides) or "the default executor"
                raise CLIError(f"Invalid run.executor ({given}): {exc}") from None
        executor = None if options.direct else settings.executor
        if executor is None and len(configs) > 1:  # a sweep is one Experiment, run here
            from nrun.exec.local import LocalExecutor

            executor = LocalExecutor()
        sections = [(*_section(configs[0][1], spec), fmt) for spec, fmt in exports]
        requests = []  # what a dry run shows the executor would be sent
        if options.dryrun and executor is not None and entry.type == "task":
            from nrun.exec.experiment import preview

            title = settings.name or options.name or entry.name
            requests = preview(configs, executor, name=title, plugins=settings.plugins)
        if options.detach and executor is None:
            raise CLIError(
                "--detach needs an executor to detach from: add run.executor=local "
                "(or docker, slurm); without one the task runs in this process"
            )
    except (ConfigError, CLIError, ExecutorError) as exc:
        return _usage_error(options, str(exc))

    if exports:
        return _export(sections, options)
    if entry.type == "experiment":
        return run_experiment_entrypoint(entry, configs[0][1], settings, executor, options)
    return _launch(entry, configs, settings, executor, options, requests)


def _launch(
    entry: Entrypoint,
    configs: list[tuple[str, Any]],
    settings: Any,
    executor: Any,
    options: RunOptions,
    requests: Sequence[Any] = (),
) -> int:
    """Show what will run, ask if a person is there to answer, then run it here or launch it."""
    remote = executor is not None and getattr(executor, "name", "") != "local"
    interactive = sys.stdin.isatty()
    ask = asks(entry, options)
    # a dry run, and the preview a person confirms, say "Dry run"; a launch says what it runs
    if options.dryrun or ask or executor is not None:
        show_tasks(entry, configs, executor, options, dry=options.dryrun or ask, requests=requests)
    if options.dryrun:
        _console(options).print(f"Dry run for {entry.name}:")
        return 0
    if ask:
        if not confirmed():
            return EXIT_FAILED
        if executor is None:
            print(f"Launching {entry.name}...", flush=True)
    if remote and not interactive and not options.yes:
        return _usage_error(
            options,
            f"refusing to launch on {executor.describe()} without confirmation: stdin is not a "
            "terminal; pass --yes",
        )
    config = configs[0][1]
    if options.repl:
        return _repl(config, options)
    if executor is None:
        return run_direct(config, options)
    from nrun.config.atomic import WriteError

    try:
        return _through_experiment(entry, configs, settings, executor, options)
    except WriteError as exc:  # a full disk: not the user's mistake, so exit 1
        return _usage_error(options, str(exc), EXIT_FAILED)


def asks(entry: Entrypoint, options: RunOptions) -> bool:
    """Whether to ask before running: a person at a terminal, and nothing says not to."""
    return (
        sys.stdin.isatty()
        and not options.yes
        and entry.require_confirmation
        and not entry.skip_confirmation
    )


def confirmed() -> bool:
    """`Continue? [y/N]`; says "Cancelled." unless answered yes."""
    import typer

    if typer.confirm("Continue?", default=False):
        return True
    print("Cancelled.", file=sys.stderr)
    return False


def show_tasks(
    entry: Entrypoint,
    configs: list[tuple[str, Any]],
    executor: Any,
    options: RunOptions,
    *,
    dry: bool,
    requests: Sequence[Any] = (),
) -> None:
    """Each task's target and resolved arguments, then what the executor will be asked to run."""
    from nrun.cli._display import executor_line, resolved_table, show_previews

    console = _console(options)
    console.print("Configuring global options")
    for name, task in configs:
        label = _label(entry, task) + (f" ({name})" if len(configs) > 1 else "")
        console.print(f"{'Dry run for task' if dry else 'Task'} {label}")
        if options.lazy:
            from nrun.cli._lazy import lazy_table

            console.print(lazy_table(task))
        else:
            console.print(resolved_table(task))
    console.print(executor_line(executor))
    show_previews(console, requests)


def _label(entry: Entrypoint, task: Any) -> str:
    """`module:function` of what the task calls: the entrypoint, or the target a file named."""
    from nrun.cli._factories import module_name

    target = getattr(task, "__fn_or_cls__", entry.fn)
    if getattr(target, "__name__", "") == "run_lazy":
        target = entry.fn
    module = getattr(target, "__module__", "")
    shown = "__main__" if module == "__main__" else module_name(module)
    return f"{shown}:{getattr(target, '__qualname__', entry.name)}"


_RUN_ONLY = {"executor", "plugins"}


def _merge_run_settings(options: RunOptions, settings: Any) -> None:
    """`run.detach=true` and the other RunContext fields given as overrides set those options."""
    import dataclasses

    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if field.name in _RUN_ONLY or value is None:
            continue
        setattr(options, "yes" if field.name == "skip_confirmation" else field.name, value)


def _exports(options: RunOptions) -> list[tuple[str, str]]:
    """(path, format) of each `--to-*` asked for; an empty file name is a usage error."""
    from nrun.cli._resolve import CLIError

    exports = []
    for path, fmt in (
        (options.to_yaml, "yaml"),
        (options.to_toml, "toml"),
        (options.to_json, "json"),
    ):
        if path is None:
            continue
        if not path.strip():
            raise CLIError(f"--to-{fmt} needs a file name (got {path!r})")
        exports.append((path, fmt))
    return exports


def _check_options(options: RunOptions, exports: list[tuple[str, str]]) -> None:
    """Options that cannot go together, and a `--name` that cannot name an experiment."""
    from nrun.cli._resolve import CLIError

    if options.rich_theme not in (None, *THEMES):
        raise CLIError(
            f"--rich-theme {options.rich_theme!r} is not a theme: use {', '.join(THEMES)}"
        )
    if exports and options.dryrun:
        flags = " ".join(f"--to-{fmt} {path}" for path, fmt in exports)
        raise CLIError(f"--dryrun writes nothing but {flags} writes a file: give one of them")
    if exports and options.multirun:
        raise CLIError("an export writes one task: leave out --multirun")
    if options.name is not None:
        from nrun.cli._resolve import check_name

        check_name(options.name, "--name")


def _export(sections: list[tuple[str, Any, str]], options: RunOptions) -> int:
    """Write each (file, config, format), show it, run nothing."""
    from nrun.cli._display import show_export
    from nrun.config import ConfigError, dump
    from nrun.config.secrets import secret_values

    console = _console(options)
    for path, value, fmt in sections:
        secrets = secret_values(value)
        try:  # a file holding secrets is the owner's alone; they are shown masked
            written = dump(value, path, mode=0o600 if secrets else None)
        except (ConfigError, OSError) as exc:
            return _usage_error(options, f"cannot export to '{path}': {exc}")
        show_export(console, str(path), written.read_text(), fmt, secrets=secrets)
    return 0


def _section(config: Any, spec: str) -> tuple[str, Any]:
    """`model.yaml:model` is the `model` argument of the task; a plain path is the whole task."""
    import re

    from nrun.cli._resolve import CLIError

    path, colon, section = spec.rpartition(":")
    if not colon or not path or not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", section):
        return spec, config
    value = config
    for i, key in enumerate(section.split(".")):
        arguments = getattr(value, "__arguments__", None)
        if arguments is None or key not in arguments:
            where = ".".join(section.split(".")[:i]) or "the task"
            names = sorted(arguments or ())
            raise CLIError(
                f"cannot export section '{section}': {where} has no argument '{key}'"
                + (f" (it has {', '.join(names)})" if names else "")
            )
        value = arguments[key]
    return path, value


def _tasks(
    entry: Entrypoint,
    overrides: list[str],
    options: RunOptions,
    default_factory: Callable[..., Any] | None,
    *,
    exporting: bool = False,
) -> list[tuple[str, Any]]:
    """The task(s) to run as (name, config): one, or one per point of a `--multirun` sweep.

    An export may leave required arguments unset (a file is a partial configuration); a run
    may not.
    """
    import copy

    from nrun.cli._resolve import CLIError, base_config, resolve_task
    from nrun.config import expand_sweeps, has_sweeps, missing_arguments

    sources = {"factory": options.factory, "yaml": options.yaml, "load": options.load}
    if entry.type == "experiment":
        from nrun.config import parse_override

        for text in overrides:
            if parse_override(text).path[0] == "ctx":
                raise CLIError(
                    f"Invalid override '{text}': 'ctx' is the RunContext nrun passes to "
                    f"{entry.name}; set run.* options instead"
                )
    sweeping = has_sweeps(overrides)
    if sweeping and not options.multirun:
        raise CLIError(
            f"{' '.join(o for o in overrides if ',' in o)}: a sweep (a=1,2) needs --multirun/-m"
        )
    points = [[o.text for o in point] for point in expand_sweeps(overrides)]
    if options.lazy:
        from nrun.cli._lazy import check_lazy, lazy_task

        check_lazy(entry.fn, overrides, **sources)
        return _named(entry, [lazy_task(entry.fn, point, **sources) for point in points])
    base = base_config(entry.fn, default_factory=default_factory, **sources)
    if entry.type == "experiment" and "ctx" in base.__arguments__:
        delattr(base, "ctx")  # given when the function is called
    configs = [resolve_task(entry.fn, copy.deepcopy(base), p) for p in points]
    missing = [] if exporting else missing_arguments(configs[0])
    if entry.type == "experiment":
        missing = [name for name in missing if name != "ctx"]
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


def run_direct(config: Any, options: RunOptions, **extra: Any) -> int:
    """Build the task and call it in this process (with `extra` arguments, e.g. `ctx`)."""
    from nrun.config import build

    try:
        task = build(config)
        task(**extra)
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
        _recorded(experiment.id)
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
    _recorded(experiment.id)
    return 0 if all(s == JobState.SUCCEEDED for s in states.values()) else EXIT_FAILED


def _recorded(experiment_id: str) -> None:
    """The last line of every launch: where its record is."""
    print(f"Recorded: nrun experiment show {experiment_id}", file=sys.stderr, flush=True)


def _repl(config: Any, options: RunOptions) -> int:
    """An interactive shell with `config` bound; `run()` builds and calls it as it is then."""
    import code

    namespace: dict[str, Any] = {"config": config}

    def run() -> None:
        run_direct(namespace["config"], options)

    namespace["run"] = run
    banner = "nrun REPL: `config` holds the resolved task; edit it, then call run()"
    code.interact(banner=banner, local=namespace, exitmsg="")
    return 0


def run_experiment_entrypoint(
    entry: Entrypoint, config: Any, settings: Any, executor: Any, options: RunOptions
) -> int:
    """Show the arguments, confirm, then call the function with a `RunContext` as `ctx`."""
    from nrun.cli._context import RunContext

    ctx = RunContext(
        name=settings.name or options.name or entry.name,
        executor=executor,
        plugins=list(settings.plugins),
        dryrun=options.dryrun,
        detach=options.detach,
        direct=options.direct,
        tail_logs=options.tail_logs,
        yes=options.yes,
    )
    ask = not options.dryrun and asks(entry, options)
    if options.dryrun or ask:
        show_tasks(entry, [(entry.name, config)], executor, options, dry=True)
    if ask and not confirmed():
        return EXIT_FAILED
    code = run_direct(config, options, ctx=ctx)
    for experiment_id in ctx.launched:
        print(f"Recorded: nrun experiment show {experiment_id}", file=sys.stderr, flush=True)
    return code
