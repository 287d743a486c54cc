"""The errors a user can cause, as one red line on stderr and an exit code, never a traceback.

The registry's, the kit's and nrun's error families are recognised without importing them:
an exception of one of their classes means its module is already loaded.
"""

from __future__ import annotations

import sys

__all__ = ["EXIT_FAILED", "EXIT_USAGE", "RecipeLoadError", "exit_code_for"]

EXIT_USAGE = 2
EXIT_FAILED = 1

# (module, class, exit code), the most specific first: a storage or executor failure is not
# the user's mistake (exit 1); a bad name, reference, config or profile is (exit 2)
_ONE_LINE: tuple[tuple[str, str, int], ...] = (
    ("nemotron.registry.errors", "RegistryStorageError", EXIT_FAILED),
    ("nemotron.registry.errors", "RegistryError", EXIT_USAGE),
    ("nemotron.kit.exceptions", "KitError", EXIT_USAGE),
    ("nemotron.app._errors", "RecipeLoadError", EXIT_USAGE),
    ("nrun.exec.executors", "ExecutorNotInstalled", EXIT_USAGE),
    ("nrun.exec.packaging", "PackagingError", EXIT_USAGE),
    ("nrun.exec.base", "ExecutorError", EXIT_FAILED),
    ("nrun.config", "ConfigError", EXIT_USAGE),
)


class RecipeLoadError(Exception):
    """A recipe family (a `nemotron.recipes` entry point) cannot be loaded, or two clash."""


def exit_code_for(exc: BaseException) -> int | None:
    """The exit code of an error to show as one line, or None for a bug (keep its traceback)."""
    for module_name, class_name, code in _ONE_LINE:
        module = sys.modules.get(module_name)
        cls = getattr(module, class_name, None) if module is not None else None
        if isinstance(cls, type) and isinstance(exc, cls):
            return code
    return None
