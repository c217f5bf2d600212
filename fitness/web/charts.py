"""The geometry of the pages' SVG charts: where each bar, line and tick goes.

Charts are drawn on the server as SVG in a fixed `viewBox` that the stylesheet scales to
the page's width, so they need no script and work offline; each template gives its chart a
title and description and a table of the same numbers, for screen readers and for anyone
who wants the figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

WIDTH: Final = 720
HEIGHT: Final = 240
# Room for the y axis's labels on the left and the x axis's below.
LEFT: Final = 48
RIGHT: Final = 24
TOP: Final = 12
BOTTOM: Final = 28


@dataclass(frozen=True, slots=True)
class Tick:
    """A gridline at `y` (or `x`) with its label."""

    position: float
    label: str


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float


@dataclass(frozen=True, slots=True)
class BarChart:
    bars: tuple[Bar, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    width: int = WIDTH
    height: int = HEIGHT


@dataclass(frozen=True, slots=True)
class Line:
    """One series as the `points` of an SVG polyline."""

    name: str
    points: str
    css_class: str


@dataclass(frozen=True, slots=True)
class LineChart:
    lines: tuple[Line, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    zero: float | None
    """The y of the zero line when the values cross zero."""
    width: int = WIDTH
    height: int = HEIGHT


def bar_chart(
    values: Sequence[tuple[str, float]], *, label_every: int = 1, short_labels: bool = False
) -> BarChart:
    """Bars for `(label, value)` pairs, values of 0 or more, left to right; every
    `label_every`-th label is written under the axis (`short_labels`: its last 5 characters)."""
    _, top, step = _scale(0.0, max((value for _, value in values), default=0.0))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(values), 1)
    bars = []
    x_ticks = []
    for index, (label, value) in enumerate(values):
        height = plot_height * (value / top) if top else 0.0
        x = LEFT + index * slot
        bars.append(
            Bar(
                x=round(x + slot * 0.1, 2),
                y=round(TOP + plot_height - height, 2),
                width=round(slot * 0.8, 2),
                height=round(height, 2),
                label=label,
                value=value,
            )
        )
        if index % label_every == 0:
            x_ticks.append(Tick(round(x + slot / 2, 2), label[-5:] if short_labels else label))
    return BarChart(tuple(bars), _y_ticks(0.0, top, step), tuple(x_ticks))


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    label_every: int = 1,
) -> LineChart:
    """Lines over the same x positions: `series` is `(name, css class, values)`, each value
    at the position of the label with its index."""
    values = [value for _, _, points in series for value in points]
    bottom, top, step = _scale(min(values, default=0.0), max(values, default=0.0))
    if top == bottom:
        top, step = bottom + 1.0, 0.25
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    spacing = plot_width / max(len(labels) - 1, 1)

    def y_of(value: float) -> float:
        return round(TOP + plot_height * (top - value) / (top - bottom), 2)

    lines = tuple(
        Line(
            name,
            " ".join(
                f"{round(LEFT + index * spacing, 2)},{y_of(value)}"
                for index, value in enumerate(points)
            ),
            css_class,
        )
        for name, css_class, points in series
    )
    x_ticks = tuple(
        Tick(round(LEFT + index * spacing, 2), label)
        for index, label in enumerate(labels)
        if index % label_every == 0
    )
    y_ticks = tuple(
        Tick(y_of(value), _tick_label(value, step)) for value in _steps(bottom, top, step)
    )
    return LineChart(lines, y_ticks, x_ticks, y_of(0.0) if bottom < 0 else None)


def _y_ticks(bottom: float, top: float, step: float) -> tuple[Tick, ...]:
    plot_height = HEIGHT - TOP - BOTTOM
    if top <= bottom:
        return (Tick(TOP + plot_height, "0"),)
    return tuple(
        Tick(
            round(TOP + plot_height * (top - value) / (top - bottom), 2),
            _tick_label(value, step),
        )
        for value in _steps(bottom, top, step)
    )


def _scale(low: float, high: float) -> tuple[float, float, float]:
    """The axis for values from `low` to `high`, zero included: (bottom, top, step), with
    a round step and about four steps."""
    low, high = min(low, 0.0), max(high, 0.0)
    step = _nice_ceiling((high - low) / 4)
    if step <= 0:
        return 0.0, 0.0, 0.0
    return math.floor(low / step) * step, math.ceil(high / step - 1e-9) * step, step


def _steps(bottom: float, top: float, step: float) -> list[float]:
    """The round values from `bottom` to `top`, `step` apart."""
    count = int(math.floor((top - bottom) / step + 1e-9)) + 1
    return [round(bottom + index * step, 10) for index in range(count)]


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least `value`."""
    if value <= 0:
        return 0.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= value * (1 - 1e-12):
            return factor * power
    return 10 * power


def _tick_label(value: float, step: float) -> str:
    """`value` with as many decimals as the axis's `step` has (1,250; 2.5; 0.25)."""
    places = 0
    while places < 6 and abs(step * 10**places - round(step * 10**places)) > 1e-9:
        places += 1
    return f"{value:,.{places}f}"
