"""`nrun executors`: the installed executors and their fields."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import Result

from nrun.exec.executors import executor_names

Invoke = Callable[..., Result]


def rows(text: str) -> dict[str, list[str]]:
    """`field -> [type, default]` of the table rows in `text`."""
    found = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) == 3:
            found[cells[0]] = cells[1:]
    return found


def test_lists_local_with_its_fields(invoke: Invoke) -> None:
    result = invoke("executors")
    assert result.exit_code == 0, result.stderr
    assert "local: nrun.exec.local.LocalExecutor" in result.stdout
    assert "Run the task runner in a subprocess of this machine." in result.stdout
    fields = rows(result.stdout)
    assert fields["cancel_grace"] == ["float", "10.0"]
    assert fields["workdir"] == ["str | None", "None"]
    assert fields["env_vars"] == ["dict[str, str]", "{}"]


def test_one_executor(invoke: Invoke) -> None:
    result = invoke("executors", "local")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("local: nrun.exec.local.LocalExecutor")
    assert rows(result.stdout)["nodes"] == ["int", "1"]


def test_the_missing_ones_name_their_extra(invoke: Invoke) -> None:
    result = invoke("executors")
    installed = executor_names()
    for name in ("docker", "slurm"):
        hint = f"\n{name}: not installed; pip install 'nrun[{name}]'\n"
        assert (hint in result.stdout) is (name not in installed)
        assert (f"{name}: nrun.exec.{name}." in result.stdout) is (name in installed)


def test_an_unknown_executor_is_one_line(invoke: Invoke) -> None:
    result = invoke("executors", "kube")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("unknown executor 'kube' (installed: ")
    assert result.stderr.count("\n") == 1
