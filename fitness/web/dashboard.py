"""The dashboard: this week, month and year against the ones before, the weekly distance of
the last 52 weeks, training load over the last 6 months, the shoes in use and the runs,
rides and lifts of late, all from fitness.db.stats, fitness.db.runs, fitness.db.rides and
fitness.db.lifts.

The statistics are independent questions, so they are asked at once, each on its own pooled
connection: the page takes as long as the slowest of them, not their sum.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fitness.config import Settings
from fitness.db import stats
from fitness.db.lifts import list_lifts
from fitness.db.rides import list_rides
from fitness.db.runs import list_run_details
from fitness.shapes.pages import UnitsQuery
from fitness.stats_models import PeriodTotal, Totals
from fitness.web import charts
from fitness.web.forms import query_values, validate
from fitness.web.rendering import render

WEEKS_SHOWN: Final = 52
LOAD_DAYS: Final = 182
RECENT_RUNS: Final = 8
RECENT_RIDES: Final = 5
RECENT_LIFTS: Final = 5


@dataclass(frozen=True, slots=True)
class Comparison:
    """A period's totals against the period before it."""

    name: str
    previous_name: str
    current: PeriodTotal
    previous: PeriodTotal

    @property
    def change(self) -> float | None:
        """The fractional change in distance; None after an empty period."""
        if self.previous.distance <= 0:
            return None
        return self.current.distance / self.previous.distance - 1


async def dashboard(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    query, errors = validate(UnitsQuery, query_values(request))
    units = (query.units if query else None) or settings.units
    today = await run_in_threadpool(stats.local_today)
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    weeks, months, years, load, wear, recent, rides, lifts = await asyncio.gather(
        run_in_threadpool(
            stats.get_totals, "week", today - timedelta(weeks=WEEKS_SHOWN - 1), today, units=units
        ),
        run_in_threadpool(stats.get_totals, "month", last_month, today, units=units),
        run_in_threadpool(stats.get_totals, "year", date(today.year - 1, 1, 1), today, units=units),
        run_in_threadpool(
            stats.get_training_load, today - timedelta(days=LOAD_DAYS - 1), today, units=units
        ),
        run_in_threadpool(stats.get_shoe_wear, retired=False, units=units),
        run_in_threadpool(list_run_details, limit=RECENT_RUNS, tz=settings.timezone),
        run_in_threadpool(list_rides, limit=RECENT_RIDES),
        run_in_threadpool(list_lifts, limit=RECENT_LIFTS),
    )
    comparisons = [
        _compare("This week", "Last week", weeks),
        _compare("This month", "Last month", months),
        _compare("This year", "Last year", years),
    ]
    week_labels = [(total.start.isoformat(), total.distance) for total in weeks.totals]
    load_labels = [day.date.isoformat() for day in load.days]
    context = {
        "title": "Dashboard",
        "units": units,
        "errors": errors,
        "comparisons": comparisons,
        "weeks": weeks,
        "weeks_chart": charts.bar_chart(week_labels, label_every=8, short_labels=True),
        "load": load,
        "load_chart": charts.line_chart(
            load_labels,
            [
                ("Fitness (CTL)", "ctl", [day.ctl for day in load.days]),
                ("Fatigue (ATL)", "atl", [day.atl for day in load.days]),
                ("Form (TSB)", "tsb", [day.tsb for day in load.days]),
            ],
            label_every=30,
        ),
        "load_weeks": load.days[-1::-7][:26],
        "wear": wear,
        "recent": recent.runs,
        "recent_rides": rides.rides,
        "recent_lifts": lifts.lifts,
        "today": today,
    }
    return render(request, "dashboard.html", context, status=422 if errors else 200)


def _compare(name: str, previous_name: str, totals: Totals) -> Comparison:
    periods = totals.totals
    return Comparison(name, previous_name, periods[-1], periods[-2])


routes = [Route("/", dashboard, methods=["GET"])]
