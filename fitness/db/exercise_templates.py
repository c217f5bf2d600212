"""The `exercise_templates` table: Hevy's exercise catalogue (title and muscle groups),
cached so that a sync can give each exercise its muscle groups without asking Hevy again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from psycopg import Connection
from psycopg.rows import class_row

from fitness.db.connection import connection, retry_on_disconnect, transaction
from fitness.lift_models import ExerciseTemplate


@retry_on_disconnect
def get_exercise_templates(*, conn: Connection | None = None) -> dict[str, ExerciseTemplate]:
    """Every cached template, by id."""
    with connection(conn) as active, active.cursor(row_factory=class_row(ExerciseTemplate)) as cur:
        cur.execute(
            """
            SELECT id, title, primary_muscle_group, secondary_muscle_groups, is_custom
            FROM exercise_templates
            """
        )
        return {template.id: template for template in cur.fetchall()}


@retry_on_disconnect
def save_exercise_templates(
    templates: Iterable[ExerciseTemplate], *, conn: Connection | None = None
) -> int:
    """Insert new templates and bring changed ones up to date (Hevy's word wins); return
    how many rows were written. Unchanged templates are not rewritten."""
    unique = list({template.id: template for template in templates}.values())
    if not unique:
        return 0
    with transaction(conn) as active:
        cur = active.execute(
            """
            INSERT INTO exercise_templates (id, title, primary_muscle_group,
                                            secondary_muscle_groups, is_custom)
            SELECT t.id, t.title, t.primary_muscle_group,
                   ARRAY(SELECT jsonb_array_elements_text(t.secondary)), t.is_custom
            FROM unnest(%s::text[], %s::text[], %s::text[], %s::jsonb[], %s::boolean[])
                 AS t (id, title, primary_muscle_group, secondary, is_custom)
            ON CONFLICT (id) DO UPDATE
            SET title = EXCLUDED.title,
                primary_muscle_group = EXCLUDED.primary_muscle_group,
                secondary_muscle_groups = EXCLUDED.secondary_muscle_groups,
                is_custom = EXCLUDED.is_custom
            WHERE (exercise_templates.title, exercise_templates.primary_muscle_group,
                   exercise_templates.secondary_muscle_groups, exercise_templates.is_custom)
                  IS DISTINCT FROM
                  (EXCLUDED.title, EXCLUDED.primary_muscle_group,
                   EXCLUDED.secondary_muscle_groups, EXCLUDED.is_custom)
            """,
            (
                [t.id for t in unique],
                [t.title for t in unique],
                [t.primary_muscle_group for t in unique],
                [json.dumps(t.secondary_muscle_groups) for t in unique],
                [t.is_custom for t in unique],
            ),
        )
        return cur.rowcount
