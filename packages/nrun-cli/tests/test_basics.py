"""The CLI guide's first examples: a basic entrypoint, and a typo caught."""

from __future__ import annotations

from nrun import cli
from nrun.cli.testing import run_cli


@cli.entrypoint
def train(model: str, epochs: int = 10) -> None:
    print(f"Training {model} for {epochs} epochs")


def test_basic_entrypoint() -> None:
    result = run_cli(train, ["model=alexnet", "epochs=5"])
    assert (result.exit_code, result.stdout) == (0, "Training alexnet for 5 epochs\n")


def test_typo_is_one_line_with_a_suggestion() -> None:
    result = run_cli(train, ["model=alexnet", "epocks=5"])
    assert result.exit_code == 2
    assert result.stderr == (
        "Invalid override 'epocks=5': Unknown argument 'epocks'. Did you mean 'epochs'?\n"
    )
    assert result.stdout == ""
