"""Secret names and masking: `****` for secrets at any depth, never a change to the input."""

from __future__ import annotations

import copy
import dataclasses
import subprocess
import sys
from typing import Any, NamedTuple

import pytest

from nrun.config import Config, Partial
from nrun.config.secrets import MASK, is_secret, mask, mask_text, secret_values


@pytest.mark.parametrize(
    "name",
    [
        "HF_TOKEN",
        "WANDB_API_KEY",
        "NVIDIA_API_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "password",
        "db.password",
        "creds.hf_token",
        "apiKey",
        "APIKey",
        "apikey",
        "passwd",
        "client_secret",
        "credentials",
        "ssh.private_key",
        "secret-key",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret(name)


@pytest.mark.parametrize(
    "name",
    ["max_tokens", "tokenizer", "pad_token_id", "api_key_file", "keyboard", "user", "", "lr"],
)
def test_names_that_only_mention_a_secret_word_are_not_secrets(name: str) -> None:
    assert not is_secret(name)


@dataclasses.dataclass(frozen=True)
class Creds:
    user: str = "me"
    hf_token: str = "hf-123"


@dataclasses.dataclass
class Model:
    size: int = 1
    creds: Creds = dataclasses.field(default_factory=Creds)


class Pair(NamedTuple):
    name: str
    extra: dict[str, Any]


def train(model: Any = None, db: Any = None, lr: float = 0.1) -> None:
    pass


def test_nested_mappings_lists_tuples_and_dataclasses_are_masked_in_a_copy() -> None:
    value = {
        "db": {"host": "h", "password": "pw-1"},
        "items": [{"api_key": "k-2"}, 3],
        "pair": Pair("x", {"token": "t-3"}),
        "model": Model(),
        "plain": (1, 2),
    }
    before = copy.deepcopy(value)
    masked = mask(value)
    assert masked["db"] == {"host": "h", "password": MASK}
    assert masked["items"] == [{"api_key": MASK}, 3]
    assert masked["pair"] == Pair("x", {"token": MASK})
    assert masked["model"].creds == Creds(user="me", hf_token=MASK)
    assert masked["plain"] is value["plain"]  # nothing secret: not copied
    assert value == before  # the input is never changed


def test_configs_are_masked_through_their_arguments_without_changing_them() -> None:
    task = Partial(train, model=Config(Model, size=2), db={"password": "pw"}, lr=0.5)
    task.model.creds = Config(Creds, hf_token="hf-x")
    masked = mask(task)
    assert masked.model.creds.hf_token == MASK
    assert masked.db == {"password": MASK}
    assert masked.lr == 0.5
    assert task.model.creds.hf_token == "hf-x"
    assert task.db == {"password": "pw"}
    assert secret_values(task) == ["hf-x", "pw"]


def test_a_secret_named_value_is_masked_whole_and_none_stays_none() -> None:
    assert mask({"secrets": {"a": 1}, "token": None}) == {"secrets": MASK, "token": None}
    assert mask("value", "HF_TOKEN") == MASK
    assert secret_values({"credentials": {"user": "u", "key": 42}}) == ["u", "42"]


def test_cycles_and_shared_values() -> None:
    shared = {"password": "p"}
    loop: list[Any] = [shared, shared]
    loop.append(loop)
    masked = mask(loop)
    assert masked[0] is masked[1]
    assert masked[0] == {"password": MASK}
    assert secret_values(loop) == ["p"]


def test_mask_text_replaces_every_secret_longest_first() -> None:
    text = "run --key=abc123 --other=abc && echo abc123"
    assert (
        mask_text(text, ["abc", "abc123", ""]) == f"run --key={MASK} --other={MASK} && echo {MASK}"
    )


def test_importing_it_imports_no_fiddle() -> None:
    code = "import sys, nrun.config.secrets; print('fiddle' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
