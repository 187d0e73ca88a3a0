"""Small server-side SVG charts: no script, no CDN, readable on a phone."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LineChart:
    title: str
    points: str  # SVG polyline points
    # Each known value as a dot too: a line needs two days, and the first day must show.
    dots: list[tuple[float, float]]
    labels: list[tuple[float, str]]  # x position, text
    max_value: float
    last_value: float | None
    unit: str
    width: int
    height: int


def line_chart(
    title: str,
    series: list[tuple[str, float | None]],
    *,
    unit: str = "",
    width: int = 320,
    height: int = 120,
    ceiling: float | None = None,
) -> LineChart:
    """A line over `series` of (label, value); days without a value are skipped."""
    known = [value for _, value in series if value is not None]
    top = ceiling or max(known, default=0) or 1
    step = width / max(1, len(series) - 1)
    dots = [
        (round(index * step, 1), round(height - (value / top) * (height - 10) - 5, 1))
        for index, (_, value) in enumerate(series)
        if value is not None
    ]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in dots)
    every = max(1, len(series) // 5)
    labels = [
        (index * step, label) for index, (label, _) in enumerate(series) if index % every == 0
    ]
    return LineChart(
        title=title,
        points=points,
        dots=dots,
        labels=labels,
        max_value=top,
        last_value=known[-1] if known else None,
        unit=unit,
        width=width,
        height=height,
    )
