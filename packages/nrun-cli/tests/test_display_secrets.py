"""Secrets are masked in the Resolved Arguments table at any depth (`creds.hf_token`,
`conf.db.password`, a dict's `api_key`), not only as top-level arguments."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from nrun.cli._display import resolved_table, show_export
from nrun.config import Config, Partial
from scripts import run_py, write

SCRIPT = """
from dataclasses import dataclass, field
from nrun import cli


@dataclass
class Creds:
    user: str = "me"
    hf_token: str = ""


@dataclass
class Db:
    host: str = "h"
    password: str = ""


@dataclass
class Conf:
    db: Db = field(default_factory=Db)
    extra: dict = field(default_factory=dict)


@cli.entrypoint
def train(creds: Creds, conf: Conf, max_tokens: int = 5, password: str = ""):
    print("ran")


if __name__ == "__main__":
    cli.main(train)
"""


def test_a_dry_run_masks_nested_secrets(tmp_path) -> None:
    write(tmp_path / "task.py", SCRIPT)
    done = run_py(
        tmp_path,
        "task.py",
        "--dryrun",
        "creds.hf_token=hf_SIG1",
        "conf.db.password=SIG2",
        'conf.extra={"api_key": "SIG3", "n": 1}',
        "password=SIG4",
        "max_tokens=7",
        columns=200,
    )
    assert done.returncode == 0, done.stderr
    assert "SIG" not in done.stdout + done.stderr
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in done.stdout.splitlines()
        if line.count("│") == 3
    }
    assert rows["creds"] == "Creds(user='me', hf_token='****')"
    conf = "Conf(db=Db(host='h', password='****'), extra={'api_key': '****', 'n': 1})"
    assert rows["conf"] == conf
    assert rows["password"] == "'****'"
    assert rows["max_tokens"] == "7"  # a name that only mentions a secret word is shown


@dataclasses.dataclass
class Creds:
    hf_token: str = ""
    user: str = "me"


def task(creds: Creds, db: dict, steps: int = 1) -> None: ...


def _render(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, width=200, no_color=True).print(renderable)
    return out.getvalue()


def test_the_table_masks_secrets_inside_configs() -> None:
    config = Partial(
        task,
        creds=Config(Creds, hf_token="SIG1"),
        db={"password": "SIG2", "nested": [{"secret": "SIG3"}]},
        steps=3,
    )
    text = _render(resolved_table(config))
    assert "SIG" not in text
    assert "Creds(hf_token='****')" in text
    assert "{'password': '****', 'nested': [{'secret': '****'}]}" in text
    assert config.creds.hf_token == "SIG1"  # the config itself is untouched


def test_an_export_shows_no_secret_values() -> None:
    out = io.StringIO()
    text = "creds:\n  hf_token: SIG1\nsteps: 3\n"
    show_export(Console(file=out, width=120, no_color=True), "x.yaml", text, "yaml", ["SIG1"])
    shown = out.getvalue()
    assert "SIG1" not in shown
    assert "hf_token: ****" in shown
