"""`run.*` overrides as NeMo-Run takes them: every RunContext option, one plugin, safe names."""

from __future__ import annotations

import dataclasses

import pytest

from nrun import cli
from nrun.cli._resolve import CLIError, RunSettings, check_name, resolve_run
from nrun.cli.testing import run_cli
from nrun.exec.plugins import EnvVars


@cli.factory
def one_plugin() -> EnvVars:
    return EnvVars(env={"ONE": "1"})


def test_every_run_context_option_is_a_run_setting() -> None:
    fields = {f.name for f in dataclasses.fields(RunSettings)}
    options = {
        "direct", "dryrun", "detach", "yes", "skip_confirmation", "tail_logs", "verbose", "repl",
        "lazy", "multirun", "factory", "load", "yaml", "to_yaml", "to_toml", "to_json",
        "rich_exceptions", "rich_traceback_short", "rich_show_locals", "rich_theme",
    }  # fmt: skip
    assert options <= fields
    settings = resolve_run(
        ["run.detach=true", "run.skip_confirmation=True", "run.dryrun=true", "run.tail_logs=false"]
    )
    assert (settings.detach, settings.skip_confirmation, settings.dryrun, settings.tail_logs) == (
        True,
        True,
        True,
        False,
    )
    assert resolve_run([]).detach is None  # not given: the flag decides


def test_a_factory_of_one_plugin_gives_a_list_of_one() -> None:
    settings = resolve_run(["run.plugins=one_plugin"])
    assert settings.plugins == [EnvVars(env={"ONE": "1"})]
    assert (
        resolve_run(["run.plugins=[one_plugin, one_plugin]"]).plugins
        == [EnvVars(env={"ONE": "1"})] * 2
    )


@cli.entrypoint
def hello(x: int = 1) -> None:
    print(f"x {x}")


def test_run_skip_confirmation_on_the_command_line() -> None:
    result = run_cli(hello, ["x=2", "run.skip_confirmation=true"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "x 2\n", "")


@pytest.mark.parametrize("name", ["a/b", "..", "a..b", "has space", "bell\x07", ""])
def test_a_bad_run_name_is_one_line_naming_it(name: str) -> None:
    with pytest.raises(CLIError) as info:
        check_name(name, "run.name")
    message = str(info.value)
    assert message.startswith(f"invalid run.name {name!r}")
    assert "\n" not in message and "\x07" not in message


@pytest.mark.parametrize("name", ["a/b", "..", "has space"])
def test_run_name_is_checked_on_the_command_line(name: str) -> None:
    result = run_cli(hello, [f"run.name={name!r}", "run.executor=local"])
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert result.stderr.count("\n") == 1 and "invalid run.name" in result.stderr
    assert result.stdout == ""


def test_an_executor_missing_a_required_field_names_it() -> None:
    """Any executor with a required field left out: one line naming `run.executor.FIELD`."""
    from nrun.cli import _resolve

    @dataclasses.dataclass(kw_only=True)
    class Needy(_resolve.Executor):  # type: ignore[misc]
        image: str

    factory = _resolve._config_factory(Needy)

    class Names:
        def __call__(self, name: str, tp: object) -> object:
            return factory if name == "needy" else None

    lookup = _resolve._Lookup(None, Names())
    from nrun.config import Config, apply_overrides

    root = Config(_resolve._Root, run=Config(RunSettings))
    apply_overrides(root, ["run.executor=needy"], factories=lookup)
    with pytest.raises(CLIError, match=r"run.executor=needy needs run.executor.image=\.\.\."):
        _resolve._check_executor(root, ["run.executor=needy"])
