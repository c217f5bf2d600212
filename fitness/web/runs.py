"""The runs pages: the list with its filters, and a run with its edit form, its history,
deleting it and restoring a version (fitness.db.runs, fitness.db.runs_history), served by
the pages every versioned kind shares (fitness.web.activities).
"""

from __future__ import annotations

from fitness.db import runs as db_runs
from fitness.db import runs_history as db_history
from fitness.db.shoes import get_shoes
from fitness.models import EDITABLE_FIELDS, RunDetail, RunVersion
from fitness.rules import RUN_SOURCES, RUN_TYPES
from fitness.shapes.pages import RunsPageQuery
from fitness.shapes.runs import RunEdit
from fitness.web.activities import (
    Activity,
    ActivityList,
    EditForm,
    activity_routes,
    duration_input,
    list_route,
    plain,
)
from fitness.web.rendering import local_input


def _form_values(run: RunDetail | RunVersion, zone: str) -> dict[str, str]:
    """The edit form's fields as the run (or a version of it) has them, in the formats a
    person types; `change_reason` is always blank."""
    return {
        "distance": repr(run.distance),
        "duration": duration_input(run.duration),
        "avg_heart_rate": "" if run.avg_heart_rate is None else plain(run.avg_heart_rate),
        "type": run.type,
        "shoe_id": run.shoe_id or "",
        "datetime_utc": local_input(run.datetime_utc, zone),
        "name": run.name or "",
        "notes": run.notes or "",
    }


RUNS = Activity(
    kind=db_history.RUNS,
    plural="runs",
    id_parameter="run_id",
    template="run.html",
    get=lambda run_id: db_runs.get_run_detail_by_id(run_id, include_deleted=True),
    history=db_history.get_run_history_page,
    version=db_history.get_run_version_entry,
    delete=db_runs.delete_run,
    restore=db_history.restore_run_version,
    label=lambda run: run.name or f"Run {run.id}",
    edit=EditForm(
        fields=EDITABLE_FIELDS,
        shape=RunEdit,
        update=db_history.update_run_with_history,
        values=_form_values,
    ),
    extra=lambda: {"shoes": get_shoes(), "run_types": RUN_TYPES},
)

RUNS_LIST = ActivityList(
    plural="runs",
    title="Runs",
    query=RunsPageQuery,
    page=db_runs.list_run_details,
    gear_field="shoe_id",
    gear_label="Shoe",
    gears=get_shoes,
    types=RUN_TYPES,
    sources=RUN_SOURCES,
    duplicates=True,
)

routes = [list_route(RUNS_LIST), *activity_routes(RUNS)]
