"""What a recipe shows: the merged config as YAML (secrets masked), the job, a lineage tree."""

from __future__ import annotations

import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nemotron.kit._secrets import MASK, is_secret, mask_entry

if TYPE_CHECKING:
    from rich.console import Console
    from rich.tree import Tree

    from nemotron.registry import ArtifactRegistry

__all__ = [
    "display_job_config",
    "display_job_submission",
    "lineage_tree",
    "mask_secrets",
    "stderr_console",
]


def stderr_console() -> Console:
    """The console recipes talk on: stderr, so stdout stays the script's (and pipes work)."""
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False)


def mask_secrets(value: Any, extra: Collection[str] = ()) -> Any:
    """`value` with every secret replaced by `****`, at any depth.

    A mapping key that names a secret (`WANDB_API_KEY`, `password`, …; see `is_secret`)
    hides its value, and so does a `NAME=VALUE` string whose `NAME` is one.
    """
    if isinstance(value, Mapping):
        return {
            k: MASK
            if isinstance(k, str) and is_secret(k, extra) and v is not None
            else mask_secrets(v, extra)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [mask_secrets(v, extra) for v in value]
    if isinstance(value, str) and "=" in value and not value.startswith("${"):
        return mask_entry(value, extra)
    return value


def _yaml_panel(data: Any, title: str) -> Any:
    import yaml
    from rich.panel import Panel
    from rich.syntax import Syntax

    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return Panel(
        Syntax(text.rstrip(), "yaml", theme="ansi_dark", background_color="default"),
        title=f"[bold green]{title}[/bold green]",
        border_style="green",
        expand=False,
    )


def display_job_config(
    job_config: Any, *, console: Console | None = None, secrets: Collection[str] = ()
) -> None:
    """Print the job config as YAML panels (`run`, then the script's config), secrets masked."""
    from omegaconf import DictConfig, OmegaConf

    plain = (
        OmegaConf.to_container(job_config, resolve=False)
        if isinstance(job_config, DictConfig)
        else dict(job_config)
    )
    assert isinstance(plain, dict)
    masked = mask_secrets(plain, secrets)
    out = console or stderr_console()
    out.print("[bold cyan]Compiled configuration[/bold cyan]")
    run = masked.pop("run", None)
    if run:
        out.print(_yaml_panel(run, "run"))
    if masked:
        out.print(_yaml_panel(masked, "config"))


def display_job_submission(
    job_path: Path,
    train_path: Path,
    env_vars: Mapping[str, str],
    mode: str,
    *,
    console: Console | None = None,
    secrets: Collection[str] = (),
) -> None:
    """Print where the job's files are, the variables it gets (secrets masked), and its mode."""
    from rich.panel import Panel
    from rich.tree import Tree

    tree = Tree("[bold]Job[/bold]")
    files = tree.add("[cyan]configs[/cyan]")
    files.add(f"[dim]job:[/dim]   {job_path}")
    files.add(f"[dim]train:[/dim] {train_path}")
    if env_vars:
        env = tree.add("[cyan]env[/cyan]")
        for key in sorted(env_vars):
            shown = MASK if is_secret(key, secrets) else env_vars[key]
            env.add(f"[dim]{key}:[/dim] {shown}")
    label = {"run": "attached", "batch": "detached", "local": "local"}.get(mode, mode)
    tree.add(f"[cyan]mode:[/cyan] {label}")
    (console or stderr_console()).print(Panel(tree, border_style="green", expand=False))


def lineage_tree(registry: ArtifactRegistry, ref: str) -> Tree:
    """A rich tree of `ref`'s lineage (`name`, `name:vN` or `art://…`): inputs down to raw data.

    An input seen twice is shown once, then named as `(see above)`; an input the registry
    no longer has is marked missing.
    """
    from rich.markup import escape
    from rich.tree import Tree

    from nemotron.registry import parse_uri

    text = ref if ref.startswith("art://") else f"art://{ref}"
    parsed = parse_uri(text)
    graph = registry.lineage(parsed.name, parsed.ref)

    def label(uri: str) -> str:
        node = graph.nodes.get(uri)
        if node is None or node.version is None:
            tag = " [red](missing)[/red]" if node is not None and node.missing else ""
            return f"[dim]{escape(uri)}[/dim]{tag}"
        version = node.version
        kind = version.metadata.get("type") or version.metadata.get("artifact_type") or ""
        extra = f" [magenta]{escape(str(kind))}[/magenta]" if kind else ""
        return f"[bold]{escape(version.name)}[/bold][yellow]:v{version.version}[/yellow]{extra}"

    root = Tree(label(graph.root))
    seen = {graph.root}

    def grow(branch: Tree, uri: str) -> None:
        node = graph.nodes.get(uri)
        for child in node.inputs if node is not None else []:
            if child in seen:
                branch.add(f"{label(child)} [dim](see above)[/dim]")
                continue
            seen.add(child)
            grow(branch.add(label(child)), child)

    grow(root, graph.root)
    return root
