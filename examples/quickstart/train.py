"""Quick start: `task.train` as a typed command line, run by the local executor and recorded.

    python examples/quickstart/train.py                        # the defaults below
    python examples/quickstart/train.py epochs=5 optimizer.lr*=2 model.activation=relu
    python examples/quickstart/train.py model=wide --dryrun     # a factory; show, don't run
    python examples/quickstart/train.py -m epochs=2,4 optimizer.lr=0.02,0.05   # a sweep
    python examples/quickstart/train.py --help

The command line starts from the `quickstart` factory (the function's defaults, `model.yaml` and
eight epochs), applies its overrides with every value checked against `task.train`'s
annotations, prints the resolved arguments, and launches the task through an Experiment on the
LocalExecutor: its config, state and output are recorded under `$NRUN_HOME` (default `~/.nrun`).
"""

from __future__ import annotations

from pathlib import Path

import task

from nrun import cli
from nrun.config import Partial, apply_overrides, from_signature
from nrun.exec.local import LocalExecutor

HERE = Path(__file__).resolve().parent


@cli.factory(target=task.train)
def quickstart() -> Partial:
    """The starting point: the function's defaults, the model preset in model.yaml, 8 epochs."""
    config = from_signature(task.train)
    return apply_overrides(config, [f"model=@{HERE / 'model.yaml'}", "epochs=8"])


@cli.factory
def wide() -> task.Model:
    """A wider model: 64 ReLU units."""
    return task.Model(hidden_size=64, activation=task.Activation.RELU)


if __name__ == "__main__":
    cli.main(
        task.train,
        default_factory=quickstart,
        default_executor=LocalExecutor(workdir=str(HERE)),
    )
