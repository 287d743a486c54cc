"""Quick start: a typed config from a function's defaults, a file and command-line overrides.

    python examples/quickstart/train.py                      # defaults + model.yaml
    python examples/quickstart/train.py epochs=5 optimizer.lr*=2 model.activation=relu

The resolved config is exported to `runs/quickstart/config.yaml`, loaded back from that file
and run: the file alone is enough to reproduce the run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import task

from nrun.config import ConfigError, apply_overrides, build, dump, dumps, from_signature, load

HERE = Path(__file__).parent


def main(argv: list[str]) -> int:
    config = from_signature(task.train)
    try:
        apply_overrides(config, [f"model=@{HERE / 'model.yaml'}", "epochs=8", *argv])
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    print("Resolved config:\n" + dumps(config, "yaml"))
    path = dump(config, Path("runs/quickstart/config.yaml"))
    print(f"exported to {path}")
    reloaded = load(path)
    assert reloaded == config, "the exported file must load back to the same config"
    loss = build(reloaded)()
    print(f"final loss {loss:.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
