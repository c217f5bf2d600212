"""The SVG charts' geometry (fitness/web/charts.py): bars and lines inside the plot, round
ticks, a zero line when values cross zero."""

from __future__ import annotations

import pytest

from fitness.web import charts


def test_bars_fill_the_plot_in_proportion() -> None:
    chart = charts.bar_chart([("a", 10.0), ("b", 20.0), ("c", 0.0)])

    a, b, c = chart.bars
    bottom = charts.HEIGHT - charts.BOTTOM
    assert a.y + a.height == pytest.approx(bottom) == b.y + b.height
    assert b.height == pytest.approx(2 * a.height)
    assert c.height == 0
    assert b.y == charts.TOP  # 20 is the top tick
    assert a.x < b.x < c.x
    assert [tick.label for tick in chart.y_ticks] == ["0", "5", "10", "15", "20"]


def test_ticks_are_round_numbers_with_the_decimals_they_need() -> None:
    assert [t.label for t in charts.bar_chart([("w", 37.2)]).y_ticks] == [
        "0", "10", "20", "30", "40"
    ]  # fmt: skip
    assert [t.label for t in charts.bar_chart([("w", 0.9)]).y_ticks] == [
        "0.00", "0.25", "0.50", "0.75", "1.00"
    ]  # fmt: skip
    assert [t.label for t in charts.bar_chart([("w", 1234.0)]).y_ticks][-1] == "1,500"


def test_an_empty_or_all_zero_chart_draws_no_bars_above_the_axis() -> None:
    assert charts.bar_chart([]).bars == ()
    flat = charts.bar_chart([("a", 0.0), ("b", 0.0)])
    assert all(bar.height == 0 for bar in flat.bars)
    assert [tick.label for tick in flat.y_ticks] == ["0"]


def test_every_nth_label_is_written() -> None:
    chart = charts.bar_chart(
        [(f"2025-01-{day:02d}", 1.0) for day in range(1, 11)], label_every=4, short_labels=True
    )

    assert [tick.label for tick in chart.x_ticks] == ["01-01", "01-05", "01-09"]


def test_lines_share_one_scale_and_mark_zero_when_they_cross_it() -> None:
    chart = charts.line_chart(
        ["d1", "d2", "d3"],
        [("up", "ctl", [0.0, 10.0, 20.0]), ("down", "tsb", [0.0, -10.0, -20.0])],
    )

    up, down = chart.lines
    up_y = [float(point.split(",")[1]) for point in up.points.split()]
    down_y = [float(point.split(",")[1]) for point in down.points.split()]
    assert chart.zero is not None
    assert up_y[0] == down_y[0] == chart.zero
    assert up_y[2] < chart.zero < down_y[2]
    assert chart.zero - up_y[2] == pytest.approx(down_y[2] - chart.zero)
    assert all(charts.TOP <= y <= charts.HEIGHT - charts.BOTTOM for y in up_y + down_y)


def test_lines_that_stay_positive_have_no_zero_line() -> None:
    chart = charts.line_chart(["a", "b"], [("x", "ctl", [1.0, 2.0])])

    assert chart.zero is None
    assert chart.y_ticks[0].label == "0.0"
