"""The timeline of an experiment as inline SVG: a row per task, a bar from its start to its end.

Bars are coloured by state (the colours of every table of states, `STATE_COLORS`); a running
task's bar reaches to now; a task still waiting is a dashed outline from when it was queued to
now; one that ended without starting (cancelled) is a diamond. The wait before a start is a thin
dashed line, and each dependency is an arrow from the end of one bar to the start of the other.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence

from nrun.exec.base import JobState, state_hex

__all__ = ["TimelineRow", "duration_text", "timeline_svg"]


_LABEL, _PLOT, _RIGHT, _TOP, _ROW, _BAR = 190, 700, 130, 34, 22, 14
_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)


@dataclasses.dataclass(frozen=True)
class TimelineRow:
    """One task as drawn: its times (seconds since the epoch) and what its table row says."""

    name: str
    state: JobState
    queued: float | None
    started: float | None
    ended: float | None
    dependencies: tuple[str, ...] = ()
    executor: str = ""
    job_id: str = ""
    exit_code: int | None = None
    reason: str = ""


def duration_text(seconds: float) -> str:
    """`0.4s`, `12.3s`, `3m05s`, `2h03m`."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


class _Scale:
    """Seconds since the epoch to x, over the span of the rows (up to now while any is live)."""

    def __init__(self, rows: Sequence[TimelineRow], now: float):
        moments = [t for r in rows for t in (r.queued, r.started, r.ended) if t is not None]
        if any(not r.state.final for r in rows):
            moments.append(now)
        self.start = min(moments, default=now)
        self.span = max(max(moments, default=now) - self.start, 1e-3)

    def x(self, moment: float) -> float:
        return _LABEL + (moment - self.start) / self.span * _PLOT

    def ticks(self) -> list[tuple[float, str]]:
        step = next((s for s in _STEPS if self.span / s <= 8), _STEPS[-1] * 2)
        count = int(self.span / step) + 1
        return [
            (self.x(self.start + k * step), "0" if k == 0 else f"+{duration_text(k * step)}")
            for k in range(count)
        ]


def _anchors(row: TimelineRow, scale: _Scale, now: float) -> tuple[float, float]:
    """Where arrows leave this task (its end) and arrive at it (its start)."""
    if row.started is not None:
        return scale.x(row.ended or now), scale.x(row.started)
    if row.ended is not None:  # a diamond: leave from its right tip, arrive at its left
        return scale.x(row.ended) + 6, scale.x(row.ended) - 6
    return scale.x(now), scale.x(now)  # waiting: its outline reaches to now


def _row_svg(index: int, row: TimelineRow, scale: _Scale, now: float) -> str:
    y = _TOP + index * _ROW
    mid = y + _ROW / 2
    color = state_hex(row.state)
    short = row.name if len(row.name) <= 26 else row.name[:25] + "…"
    tip = f"{row.name}: {row.state.value}" + (f" ({row.reason})" if row.reason else "")
    parts = [
        f'<g class="task" id="bar-{_e(row.name)}" data-task="{_e(row.name)}" '
        f'data-state="{row.state.value}"><title>{_e(tip)}</title>',
        f'<rect class="stripe" x="0" y="{y}" width="{_LABEL + _PLOT + _RIGHT}" height="{_ROW}" '
        f'fill="{"#f6f8fa" if index % 2 else "#ffffff"}"/>',
        f'<a href="#task-{_e(row.name)}"><text x="{_LABEL - 8}" y="{mid + 4}" '
        f'text-anchor="end" font-size="12" fill="#1f2328">{_e(short)}</text></a>',
    ]
    top = y + (_ROW - _BAR) / 2
    start_x: float
    end_x: float
    if row.started is not None:
        if row.queued is not None and row.queued < row.started:
            parts.append(_wait_line(scale.x(row.queued), scale.x(row.started), mid))
        start_x, end_x = scale.x(row.started), scale.x(row.ended or now)
        width = max(end_x - start_x, 2.0)
        end_x = start_x + width
        live = ("", "") if row.state.final else (" running", ' fill-opacity="0.7"')
        parts.append(
            f'<rect class="bar{live[0]}" x="{start_x:.1f}" y="{top:.1f}" width="{width:.1f}" '
            f'height="{_BAR}" rx="2" fill="{color}"{live[1]}/>'
        )
        label = duration_text((row.ended or now) - row.started)
    elif row.ended is not None:  # ended without starting: a diamond where it ended
        cx = scale.x(row.ended)
        if row.queued is not None and row.queued < row.ended:
            parts.append(_wait_line(scale.x(row.queued), cx, mid))
        start_x, end_x = cx - 6, cx + 6
        parts.append(
            f'<path class="marker" d="M{cx:.1f} {mid - 6:.1f} l6 6 l-6 6 l-6 -6 z" fill="{color}"/>'
        )
        label = ""
    else:  # not started yet: a dashed outline from when it was queued to now
        x1 = start_x = scale.x(row.queued or now)
        end_x = max(scale.x(now), x1 + 2)
        parts.append(
            f'<rect class="bar pending" x="{x1:.1f}" y="{top:.1f}" width="{end_x - x1:.1f}" '
            f'height="{_BAR}" rx="2" fill="none" stroke="{color}" stroke-dasharray="4 3"/>'
        )
        label = ""
    note = " ".join(
        p
        for p in (
            label,
            "" if row.state == JobState.SUCCEEDED else row.state.value.lower(),
            "" if row.exit_code in (None, 0) else f"exit {row.exit_code}",
        )
        if p
    )
    if note:
        parts.append(_note(note, start_x, end_x, mid, row.started is not None))
    parts.append("</g>")
    return "".join(parts)


def _note(note: str, start_x: float, end_x: float, mid: float, bar: bool) -> str:
    """The text beside a bar: right of it if there is room, else inside (white) or left."""
    needed = 6.5 * len(note) + 8
    if end_x + needed <= _LABEL + _PLOT + _RIGHT:
        x, anchor, fill = end_x + 4, "start", "#59636e"
    elif bar and end_x - start_x >= needed:
        x, anchor, fill = end_x - 4, "end", "#ffffff"
    else:
        x, anchor, fill = start_x - 4, "end", "#59636e"
    return (
        f'<text class="note" x="{x:.1f}" y="{mid + 4}" text-anchor="{anchor}" '
        f'font-size="11" fill="{fill}">{_e(note)}</text>'
    )


def _wait_line(x1: float, x2: float, y: float) -> str:
    return (
        f'<line class="wait" x1="{x1:.1f}" y1="{y}" x2="{x2:.1f}" y2="{y}" stroke="#8c959f" '
        'stroke-width="1" stroke-dasharray="2 2"/>'
    )


def _arrows(rows: Sequence[TimelineRow], scale: _Scale, now: float) -> list[str]:
    index = {row.name: i for i, row in enumerate(rows)}
    anchors = [_anchors(row, scale, now) for row in rows]
    found = []
    for i, row in enumerate(rows):
        for dep in row.dependencies:
            if dep not in index:
                continue
            j = index[dep]
            x1, y1 = anchors[j][0], _TOP + j * _ROW + _ROW / 2
            x2, y2 = anchors[i][1], _TOP + i * _ROW + _ROW / 2
            bend = max(24.0, abs(x2 - x1) / 3)
            found.append(
                f'<path class="dep" data-from="{_e(dep)}" data-to="{_e(row.name)}" '
                f'd="M{x1:.1f} {y1:.1f} C{x1 + bend:.1f} {y1:.1f} {x2 - bend:.1f} {y2:.1f} '
                f'{x2 - 1:.1f} {y2:.1f}" fill="none" stroke="#57606a" stroke-width="1.2" '
                f'marker-end="url(#nrun-arrow)"><title>{_e(dep)} → {_e(row.name)}</title></path>'
            )
    return found


def timeline_svg(rows: Sequence[TimelineRow], now: float) -> str:
    """The timeline of `rows` (in their order) as an inline `<svg class="timeline">`."""
    scale = _Scale(rows, now)
    width = _LABEL + _PLOT + _RIGHT
    height = _TOP + len(rows) * _ROW + 8
    axis = [
        f'<line x1="{_LABEL}" y1="{_TOP - 6}" x2="{_LABEL + _PLOT}" y2="{_TOP - 6}" '
        'stroke="#d1d9e0"/>'
    ]
    for x, text in scale.ticks():
        axis.append(
            f'<line class="tick" x1="{x:.1f}" y1="{_TOP - 10}" x2="{x:.1f}" y2="{height - 8}" '
            f'stroke="#d1d9e0" stroke-width="0.6"/><text x="{x:.1f}" y="{_TOP - 14}" '
            f'text-anchor="middle" font-size="11" fill="#59636e">{_e(text)}</text>'
        )
    body = [_row_svg(i, row, scale, now) for i, row in enumerate(rows)]
    defs = (
        '<defs><marker id="nrun-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" '
        'fill="#57606a"/></marker></defs>'
    )
    return (
        f'<svg class="timeline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="timeline of {len(rows)} tasks">{defs}'
        f'<g class="rows">{"".join(body)}</g><g class="axis">{"".join(axis)}</g>'
        f'<g class="deps">{"".join(_arrows(rows, scale, now))}</g></svg>'
    )
