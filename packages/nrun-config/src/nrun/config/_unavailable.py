"""Stand-ins for names whose libraries cannot be imported here (fiddle, on a job's node).

The runtime shipped next to a job holds nrun.config without fiddle. A task module may still
`from nrun.config import Config, Partial` at its top for factories that only run on the machine
that launches it: the import succeeds there, and using the name fails with one clear error.
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["unavailable"]


def unavailable(name: str, error: ImportError) -> Any:
    """A stand-in for `nrun.config.<name>` that raises `error`, explained, once it is used.

    A class name gets a class (so annotations, `isinstance` and subclassing still work and
    `Config[Model]` is accepted); any other name a function.
    """
    missing = error.name or "a library"
    message = (
        f"nrun.config.{name} needs {missing}, which cannot be imported here ({error}); "
        "install nrun-config with its dependencies where this runs (pip install nrun-config)"
    )

    def fail(*args: Any, **kwargs: Any) -> NoReturn:
        raise ModuleNotFoundError(message, name=error.name)

    if name[:1].isupper():

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            fail()

        def class_getitem(cls: type, item: Any) -> type:
            return cls

        namespace = {
            "__doc__": message,
            "__module__": "nrun.config",
            "__init__": init,
            "__class_getitem__": classmethod(class_getitem),
        }
        return type(name, (), namespace)
    fail.__name__ = fail.__qualname__ = name
    fail.__module__ = "nrun.config"
    fail.__doc__ = message
    return fail
