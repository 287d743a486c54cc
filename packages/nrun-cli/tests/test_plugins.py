"""Factories contributed by an installed package through the `nrun.factories` entry points."""

from __future__ import annotations

from pathlib import Path

from scripts import run_py, write

PLUGIN = """
from dataclasses import dataclass

from nrun import cli


@dataclass
class Optimizer:
    lr: float = 0.1


@cli.factory
def tiny_lr() -> Optimizer:
    return Optimizer(lr=1e-5)
"""

SCRIPT = """
from nrun import cli
from nrun_plugin_demo import Optimizer


@cli.entrypoint
def train(optimizer: Optimizer = Optimizer()):
    print(f"lr {optimizer.lr}")


if __name__ == "__main__":
    cli.main(train)
"""


def _install_plugin(site: Path) -> None:
    """A real distribution on sys.path: its module and a dist-info with the entry point."""
    (site / "nrun_plugin_demo.py").write_text(PLUGIN)
    info = site / "nrun_plugin_demo-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nrun-plugin-demo\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[nrun.factories]\ndemo = nrun_plugin_demo\n")


def test_an_installed_package_contributes_factories(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _install_plugin(site)
    write(tmp_path / "train.py", SCRIPT)
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    run = run_py(tmp_path, "train.py", "optimizer=tiny_lr", env=env, inherit_env=False)
    assert (run.returncode, run.stdout, run.stderr) == (0, "lr 1e-05\n", "")
    shown = run_py(tmp_path, "train.py", "--help", env=env, inherit_env=False)
    assert "Factory for optimizer" in shown.stdout
    assert "nrun_plugin_demo.tiny_lr" in shown.stdout
