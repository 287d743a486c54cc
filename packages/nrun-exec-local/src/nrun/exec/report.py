"""Reports as one self-contained HTML file: the toolkit, and the page of an experiment.

Every page opens offline: its CSS, SVG and script are inline, and its Content-Security-Policy
lets it fetch nothing (`default-src 'none'`). The toolkit serves every report of the project
(the experiment's here, the nemotron lineage's): `html_page` wraps a body into a page,
`dot_svg` lays a graph out with Graphviz's `dot` (a subprocess; Debian's `graphviz`),
`sparkline_svg` draws a small plot of numbers, `escape` quotes text for HTML, `dot_quote` for
DOT. `experiment_report` is the page of a recorded experiment: a timeline of its tasks (see
`nrun.exec._timeline`) and a table of them, each with its config, secrets masked.
"""

from __future__ import annotations

import html
import math
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nrun.exec._render import times
from nrun.exec._timeline import TimelineRow, duration_text, timeline_svg
from nrun.exec.base import JobState, JobStatus, state_hex

if TYPE_CHECKING:
    from nrun.exec._tasks import TaskRecord

__all__ = [
    "ReportError",
    "dot_quote",
    "dot_svg",
    "escape",
    "experiment_report",
    "html_page",
    "sparkline_svg",
]

_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; font-src data:"
)
_BASE_CSS = """
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: #fff; margin: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.meta { color: var(--muted); margin: 0 0 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-weight: 600; background: #f6f8fa; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12px; }
pre { background: #f6f8fa; padding: 8px; overflow: auto; margin: 4px 0; }
details > summary { cursor: pointer; color: var(--muted); }
.state { display: inline-block; padding: 0 6px; border-radius: 8px; color: #fff;
  font-size: 12px; font-weight: 600; }
.chips .state { margin-right: 6px; }
svg text { font-family: system-ui, sans-serif; }
"""
_DOT_TIMEOUT = 60.0
_DOT_MISSING = (
    "Graphviz's 'dot' is not installed (it lays out the graph): "
    "apt-get install graphviz (or your system's graphviz package)"
)


class ReportError(RuntimeError):
    """A report that cannot be drawn (Graphviz missing or failing); `str()` is one line."""


def escape(text: object) -> str:
    """`text` (any object, as `str`) safe inside HTML or SVG text and quoted attributes."""
    return html.escape(str(text), quote=True)


def html_page(title: str, body_html: str, *, style: str = "", script: str = "") -> str:
    """One self-contained page: `body_html` with the base CSS, `style` and `script` inline.

    The page may fetch nothing (its Content-Security-Policy says so); `style` and `script`
    are CSS and JavaScript text, which must not close their own element.
    """
    if "</style" in style.lower():
        raise ValueError("style must not contain '</style'")
    if "</script" in script.lower():
        raise ValueError("script must not contain '</script'")
    tail = f"<script>{script}</script>\n" if script else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{escape(title)}</title>\n<style>{_BASE_CSS}{style}</style>\n</head>\n"
        f"<body>\n{body_html}\n{tail}</body>\n</html>\n"
    )


def dot_quote(text: object) -> str:
    """`text` as a double-quoted DOT string (an id or a label)."""
    quoted = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{quoted}"'


_XML_NOISE = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", re.DOTALL)
_XMLNS = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')


def dot_svg(dot_source: str, *, timeout: float = _DOT_TIMEOUT) -> str:
    """The graph `dot_source` (DOT language) laid out by Graphviz, as an inline `<svg>`.

    Runs `dot -Tsvg` with the source on stdin. The XML prolog, DOCTYPE, comments and
    namespace declarations are dropped (an `<svg>` inside HTML needs none, and they hold
    addresses). Raises `ReportError` (one line) when `dot` is missing, fails or takes longer
    than `timeout` seconds.
    """
    dot = shutil.which("dot")
    if dot is None:
        raise ReportError(_DOT_MISSING)
    try:
        done = subprocess.run(
            [dot, "-Tsvg"],
            input=dot_source.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ReportError(
            f"Graphviz's dot took longer than {timeout:g}s to lay out the graph"
        ) from None
    except OSError as exc:
        raise ReportError(f"cannot run Graphviz's dot ({dot}): {exc.strerror or exc}") from None
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        why = lines[0] if lines else f"exit code {done.returncode}"
        raise ReportError(f"Graphviz's dot failed: {why}")
    svg = _XMLNS.sub("", _XML_NOISE.sub("", done.stdout.decode(errors="replace")))
    return svg.strip()


def sparkline_svg(
    values: Sequence[float], *, width: int = 120, height: int = 28, label: str = ""
) -> str:
    """A small line plot of `values` (in order) as an inline `<svg class="sparkline">`.

    Values that are not finite numbers are left out; the first, last, lowest and highest are
    in its `<title>` (what a pointer shows). No values draw an empty frame.
    """
    points = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    summary = (
        f"{label + ': ' if label else ''}{len(points)} values, first {points[0]:.4g}, "
        f"last {points[-1]:.4g}, min {min(points):.4g}, max {max(points):.4g}"
        if points
        else f"{label + ': ' if label else ''}no values"
    )
    pad = 3.0
    low, high = (min(points), max(points)) if points else (0.0, 0.0)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(len(points) - 1, 1)

    def xy(i: int, v: float) -> str:
        y = height - pad - (v - low) / span * (height - 2 * pad) if high > low else height / 2
        return f"{pad + i * step:.1f},{y:.1f}"

    coords = [xy(i, v) for i, v in enumerate(points)]
    shape = ""
    if len(coords) > 1:
        shape = (
            f'<polyline points="{" ".join(coords)}" fill="none" stroke="#0969da" '
            'stroke-width="1.5" stroke-linejoin="round"/>'
        )
    if coords:
        x, y = coords[-1].split(",")
        shape += f'<circle cx="{x}" cy="{y}" r="2.2" fill="#0969da"/>'
    return (
        f'<svg class="sparkline" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(summary)}">'
        f"<title>{escape(summary)}</title>"
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="none" '
        f'stroke="#d1d9e0"/>{shape}</svg>'
    )


# -- the experiment's page -------------------------------------------------------------------
def experiment_report(experiment_id: str) -> str:
    """The page of the experiment `experiment_id`: its tasks as a timeline and a table.

    Each task's row holds its state, executor, job id, start, end, exit code, reason and
    dependencies, and (folded) its `task.yaml` and `executor.yaml` with every secret value
    masked. Live tasks are asked about once per kind of executor (as `Experiment.statuses`),
    so running ones show up to now. `ExperimentError` for an unknown id.
    """
    from nrun.exec.experiment import Experiment
    from nrun.exec.store import META, read_json

    experiment = Experiment.from_id(experiment_id)
    statuses = experiment.statuses()
    tasks: Mapping[str, TaskRecord] = experiment._tasks
    meta = read_json(experiment.dir / META) or {}
    now = time.time()
    configs = {name: _configs(tasks[name]) for name in statuses}
    rows = [_row(tasks[name], statuses[name], configs[name][1]) for name in statuses]
    summary = _chips(statuses)
    created = _when(meta.get("created"))
    launched = _when(meta.get("launched")) if meta.get("launched") else "not launched"
    body = (
        f'<h1>Experiment <span class="mono">{escape(experiment.id)}</span></h1>\n'
        f'<p class="meta">title {escape(experiment.title)} · {len(rows)} tasks · created '
        f"{escape(created)} · launched {escape(launched)} · report made {escape(_when(now))}"
        f'</p>\n<p class="chips">{summary}</p>\n'
        f'<h2>Timeline</h2>\n<div class="timeline">{timeline_svg(rows, now)}</div>\n'
        f"<h2>Tasks</h2>\n{_table(rows, {n: c[0] for n, c in configs.items()})}"
    )
    return html_page(f"Experiment {experiment.id}", body, style=_STYLE)


_STYLE = """
.timeline { overflow-x: auto; }
tr.config td { border-bottom: 2px solid var(--line); padding-top: 0; }
td.reason { max-width: 28em; overflow-wrap: anywhere; }
"""
_COLUMNS = ("task", "state", "executor", "job id", "started", "ended", "duration", "exit")


def _row(task: TaskRecord, status: JobStatus, hidden: Sequence[str]) -> TimelineRow:
    """What the timeline and the table show of one task (`hidden`: its secret values)."""
    record = task.record
    started, ended = times(record)
    history = record.get("states") or []
    return TimelineRow(
        name=task.name,
        state=status.state,
        queued=history[0]["time"] if history else None,
        started=started,
        ended=ended if status.state.final else None,
        dependencies=tuple(task.dependencies),
        executor=_mask(task.executor.describe(), hidden),
        job_id=str(record.get("job_id") or ""),
        exit_code=status.exit_code,
        reason=_mask(status.reason, hidden),
    )


_FILES = ("task.yaml", "executor.yaml")


def _configs(task: TaskRecord) -> tuple[dict[str, str], list[str]]:
    """A task's config files as shown (every secret value masked), and those secret values.

    The secrets are the values under secret names in the task's config (parsed once) and in
    its executor (rebuilt from `executor.yaml` already: its fields, `env_vars` among them). A
    config that does not parse is not shown (its secrets are unknown), only why.
    """
    from nrun.config import ConfigError, read_file
    from nrun.config.secrets import secret_values

    hidden = secret_values(task.executor)
    texts: dict[str, str] = {}
    for name in _FILES:
        path = task.dir / name
        try:
            if name == "task.yaml":
                hidden.extend(secret_values(read_file(path)))
            texts[name] = path.read_text(encoding="utf-8")
        except (ConfigError, OSError, UnicodeDecodeError) as exc:
            texts[name] = f"(cannot show {name}: {exc})"
    return {name: _mask(text, hidden) for name, text in texts.items()}, hidden


def _mask(text: str, hidden: Sequence[str]) -> str:
    from nrun.config.secrets import mask_text

    return mask_text(text, hidden)


def _config_html(texts: Mapping[str, str]) -> str:
    """The task's config files, folded."""
    return "".join(
        f'<details class="config" data-file="{name}"><summary>{name}</summary>'
        f"<pre>{escape(text)}</pre></details>"
        for name, text in texts.items()
    )


def _table(rows: Sequence[TimelineRow], configs: Mapping[str, Mapping[str, str]]) -> str:
    head = "".join(f"<th>{c}</th>" for c in (*_COLUMNS, "depends on", "reason"))
    out = [f'<table class="tasks"><thead><tr>{head}</tr></thead><tbody>']
    for row in rows:
        ended = row.ended if row.state.final else None
        duration = (
            "" if row.started is None else duration_text((ended or time.time()) - row.started)
        )
        deps = ", ".join(f'<a href="#task-{escape(d)}">{escape(d)}</a>' for d in row.dependencies)
        cells = (
            f'<td class="mono">{escape(row.name)}</td><td>{_badge(row.state)}</td>'
            f'<td>{escape(row.executor)}</td><td class="mono">{escape(row.job_id)}</td>'
            f"<td>{escape(_when(row.started))}</td><td>{escape(_when(ended))}</td>"
            f"<td>{escape(duration)}</td>"
            f"<td>{'' if row.exit_code is None else escape(row.exit_code)}</td>"
            f'<td>{deps}</td><td class="reason">{escape(row.reason)}</td>'
        )
        out.append(
            f'<tr class="task" id="task-{escape(row.name)}" data-task="{escape(row.name)}" '
            f'data-state="{row.state.value}">{cells}</tr>'
            f'<tr class="config"><td colspan="{len(_COLUMNS) + 2}">'
            f"{_config_html(configs[row.name])}</td></tr>"
        )
    out.append("</tbody></table>")
    return "\n".join(out)


def _badge(state: JobState) -> str:
    return f'<span class="state" style="background:{state_hex(state)}">{state.value}</span>'


def _chips(statuses: Mapping[str, JobStatus]) -> str:
    counts: dict[JobState, int] = {}
    for status in statuses.values():
        counts[status.state] = counts.get(status.state, 0) + 1
    return "".join(
        f'<span class="state" style="background:{state_hex(s)}">{s.value} {counts[s]}</span>'
        for s in JobState
        if s in counts
    )


def _when(moment: Any) -> str:
    """A time of the record as local date and time with its UTC offset; '' for none."""
    if not isinstance(moment, (int, float)):
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(moment))
