"""The exceptions of `nrun.config`: one base class, one subclass per kind of user error."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "ConfigFileError",
    "ConfigTypeError",
    "FactoryError",
    "OverrideSyntaxError",
    "OverrideValueError",
    "UnknownArgumentError",
    "did_you_mean",
    "printable",
]


def printable(text: str) -> str:
    """`text` with control characters escaped as `repr` does, so it prints as one line.

    Error messages echo what the user typed; a raw escape sequence could repaint the terminal.
    """
    if all(c.isprintable() or c == " " for c in text):
        return text
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _shorten(text: str, limit: int = 120) -> str:
    """`text`, its middle cut out when longer than `limit` (a 5000-digit number)."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 30]}...({len(text)} characters)...{text[-20:]}"


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return `" Did you mean 'x'?"` for the closest of `choices`, or `""` when none is close."""
    close = difflib.get_close_matches(name, sorted(set(choices)), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


class ConfigError(Exception):
    """Base class of every error a user can cause through overrides, types or files.

    `override` is the override as the user typed it, when there is one; `path` the dotted path
    it addresses. Both are also in the message, so printing the exception is enough.
    """

    def __init__(self, message: str, *, override: str | None = None, path: str | None = None):
        self.override = override
        self.path = path
        self.detail = message
        if override is not None:
            message = f"Invalid override '{_shorten(printable(override))}': {message}"
        super().__init__(printable(message))

    def with_override(self, override: str) -> ConfigError:
        """Return a copy of this error that names the override it came from."""
        if self.override is not None:
            return self
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        ConfigError.__init__(clone, self.detail, override=override, path=self.path)
        return clone


class OverrideSyntaxError(ConfigError, ValueError):
    """An override that the grammar cannot parse (a missing `=`, an unclosed bracket, ...)."""


class UnknownArgumentError(ConfigError, AttributeError):
    """A path that names an argument, field or key that does not exist."""


class ConfigTypeError(ConfigError, TypeError):
    """A value that does not fit the annotated type of the argument it is given to."""


class OverrideValueError(ConfigError, ValueError):
    """A well-formed override that cannot be applied (`+=` on None, an index out of range)."""


class FactoryError(ConfigError, LookupError):
    """A factory reference that names no known factory, or whose call fails."""


class ConfigFileError(ConfigError, ValueError):
    """A config file that is missing, malformed, or holds an unknown `_target_` or a wrong type."""

    def __init__(self, message: str, *, file: str, line: int | None = None, key: str | None = None):
        self.file = file
        self.line = line
        self.key = key
        where = file if line is None else f"{file}, line {line}"
        if key:
            where += f", at '{key}'"
        super().__init__(f"{where}: {message}")
