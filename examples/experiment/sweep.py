"""A sweep as an experiment: one local task per point of `epochs=2,4 optimizer.lr=0.02,0.05`.

    python examples/experiment/sweep.py                       # the default sweep
    python examples/experiment/sweep.py model.hidden_size=8,16 epochs=3

Each point is the quick start's task with its overrides applied, run by the LocalExecutor two
at a time; the experiment is recorded under $NRUN_HOME (default ~/.nrun) and can be reopened
with `Experiment.from_id(...)`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quickstart"))

import task

from nrun.config import ConfigError, apply_overrides, expand_sweeps, from_signature
from nrun.exec.base import ExecutorError
from nrun.exec.experiment import Experiment
from nrun.exec.local import LocalExecutor


def main(argv: list[str]) -> int:
    overrides = argv or ["epochs=2,4", "optimizer.lr=0.02,0.05"]
    executor = LocalExecutor(workdir=str(Path(task.__file__).parent))
    try:
        exp = Experiment("sweep", executor=executor)
        for i, point in enumerate(expand_sweeps(overrides)):
            config = apply_overrides(from_signature(task.train), point)
            exp.add(config, name=f"point-{i}")
            print(f"point-{i}: {' '.join(o.text for o in point)}")
    except (ConfigError, ExecutorError) as exc:
        print(exc, file=sys.stderr)
        return 2
    exp.run(max_concurrent=2)
    exp.show()
    print(f"Recorded: nrun experiment show {exp.id}", file=sys.stderr)
    return 0 if all(s.value == "SUCCEEDED" for s in exp.status().values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
