"""Which environment variables are secrets, and how they are shown: `****`, never their values.

The lowest layer of run profiles: `RunConfig`'s `repr`, `build_executor`'s environment and
`describe`'s table all mask through these.
"""

from __future__ import annotations

import re
from collections.abc import Collection

__all__ = ["DEFAULT_SECRETS", "MASK", "SecretEnv", "is_secret", "mask_entry"]

DEFAULT_SECRETS = ("WANDB_API_KEY", "HF_TOKEN", "NVIDIA_API_KEY")
"""Passed from the launching environment to every job when set there, masked when shown."""
MASK = "****"

_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL", re.IGNORECASE
)


def is_secret(name: str, extra: Collection[str] = ()) -> bool:
    """Whether the variable `name` holds a secret: a default one, one of `extra`, or named so."""
    return name in DEFAULT_SECRETS or name in extra or bool(_SECRET_NAME.search(name))


def mask_entry(entry: str, extra: Collection[str] = ()) -> str:
    """A `NAME=VALUE` entry as shown: `NAME=****` when `NAME` is a secret (see `is_secret`)."""
    name, eq, _ = entry.partition("=")
    return f"{name}={MASK}" if eq and is_secret(name, extra) else entry


class SecretEnv(dict[str, str]):
    """Environment variables whose `repr` shows `****` for the secret ones."""

    secret_names: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        shown = (
            f"{k!r}: {MASK!r}" if is_secret(k, self.secret_names) else f"{k!r}: {v!r}"
            for k, v in self.items()
        )
        return "{" + ", ".join(shown) + "}"
