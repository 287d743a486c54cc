"""A pipeline step: a module run as a script (`python -m module`), through torchrun if asked."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from types import ModuleType

__all__ = ["Step"]


@dataclass
class Step:
    """A pipeline step that can be executed.

    Example:
        >>> from nemotron.kit import Step
        >>> steps = [
        ...     Step(name="data_prep", module="my_recipes.data_prep"),
        ...     Step(name="training", module="my_recipes.training", torchrun=True),
        ... ]
    """

    name: str
    """Step name (`data_prep`): the name of its task in the pipeline's experiment."""
    module: ModuleType | str
    """The module run as `__main__` (a module object, or its dotted name)."""
    torchrun: bool = False
    """Whether to run it with torchrun (one process per GPU)."""
    args: list[str] = field(default_factory=list)
    """Arguments for this step alone (after the pipeline's `extra_args`): `["iters=5"]`."""

    @property
    def module_name(self) -> str:
        """The module's fully qualified name."""
        return self.module if isinstance(self.module, str) else self.module.__name__

    @property
    def module_file(self) -> str | None:
        """The module's file, when it is a module object that has one."""
        return None if isinstance(self.module, str) else self.module.__file__

    def get_command(self, nproc_per_node: int = 8) -> list[str]:
        """The command that runs this step here."""
        if self.torchrun:
            return [
                sys.executable,
                "-m",
                "torch.distributed.run",
                f"--nproc-per-node={nproc_per_node}",
                "-m",
                self.module_name,
                *self.args,
            ]
        return [sys.executable, "-m", self.module_name, *self.args]
