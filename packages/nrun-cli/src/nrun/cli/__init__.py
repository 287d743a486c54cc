"""Any Python function as a typed command line, with nested overrides, factories and executors.

```python
from nrun import cli

@cli.entrypoint
def train(model: str, epochs: int = 10):
    print(f"Training {model} for {epochs} epochs")

if __name__ == "__main__":
    cli.main(train)
```

`python script.py model=alexnet epochs=5` runs it; `--help`, `--dryrun`, `--to-yaml`,
`run.executor=slurm` and the rest are described in the package README.
"""

from __future__ import annotations

from nrun.cli._context import RunContext
from nrun.cli._entrypoint import Entrypoint, entrypoint
from nrun.cli._factories import Factory, factory
from nrun.cli._main import main

__all__ = ["Entrypoint", "Factory", "RunContext", "entrypoint", "factory", "main"]
