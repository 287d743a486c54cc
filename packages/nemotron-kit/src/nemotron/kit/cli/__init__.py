"""The recipe CLI: `@recipe` commands on typer, their global options, configs and display.

```python
import typer
from nemotron.kit.cli import RECIPE_CONTEXT_SETTINGS, global_callback, recipe

app = typer.Typer(callback=global_callback)

@app.command(context_settings=RECIPE_CONTEXT_SETTINGS)
@recipe("tiny/pretrain", script_path="pretrain.py", config_dir="config")
def pretrain(ctx: typer.Context) -> None:
    '''Pretrain the tiny model.'''
```
"""

from __future__ import annotations

from nemotron.kit.cli.globals import GlobalContext, RecipeUsageError, global_callback
from nemotron.kit.cli.pipe import run_pipe
from nemotron.kit.cli.recipe import RECIPE_CONTEXT_SETTINGS, RecipeMetadata, recipe

__all__ = [
    "RECIPE_CONTEXT_SETTINGS",
    "GlobalContext",
    "RecipeMetadata",
    "RecipeUsageError",
    "global_callback",
    "recipe",
    "run_pipe",
]
