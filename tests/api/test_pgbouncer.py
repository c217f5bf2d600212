"""The API through a real PgBouncer in transaction mode (tests/pgbouncer.py): health, edits,
history, restores and imports work; and a URL PgBouncer refuses makes /health and every
request a 503 that says what PgBouncer said, not an "ok" beside requests that all fail."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from psycopg.conninfo import make_conninfo
from starlette.testclient import TestClient

from fitness.api.app import create_app
from fitness.config import Settings
from fitness.db.connection import close_pool
from fitness.db.migrations import head_revision
from tests.api.conftest import TOKEN
from tests.importers.mmf_csv import SAMPLE_EXPORT
from tests.pgbouncer import PgBouncer

REFUSED = "unsupported startup parameter: options"


@contextmanager
def serving(settings: Settings, url: str) -> Iterator[TestClient]:
    close_pool()
    app = create_app(dataclasses.replace(settings, database_url=url, pool_timeout=2.0))
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client
    close_pool()


def test_health_edits_history_restore_and_import_through_pgbouncer(
    settings: Settings, db: str, pgbouncer: PgBouncer
) -> None:
    with serving(settings, pgbouncer.url(db)) as client:
        health = client.get("/health")
        with open(SAMPLE_EXPORT, "rb") as export:
            imported = client.post("/mmf/upload-csv", files={"file": ("export.csv", export)})
        run_id = client.get("/runs", params={"limit": 1}).json()["runs"][0]["id"]
        edits = [
            client.patch(f"/runs/{run_id}", json={"distance": 5 + n / 10}).status_code
            for n in range(12)
        ]
        stale = client.patch(f"/runs/{run_id}", json={"distance": 1.0}, headers={"If-Match": '"1"'})
        restored = client.post(f"/runs/{run_id}/restore/1", json={"change_reason": "first"})
        history = client.get(f"/runs/{run_id}/history")

    assert health.json()["schema"] == head_revision()
    assert imported.json()["inserted"] == 59
    assert edits == [200] * 12
    assert stale.status_code == 412
    assert restored.json()["version"] == 14
    versions = [v["version_number"] for v in history.json()["versions"]]
    assert versions == list(range(14, 0, -1))


def test_a_url_pgbouncer_refuses_is_a_503_saying_so_on_health_and_on_requests(
    settings: Settings, db: str, pgbouncer: PgBouncer
) -> None:
    refused = make_conninfo(pgbouncer.url(db), options="-csearch_path=fit")

    with serving(settings, refused) as client:
        health = client.get("/health")
        runs = client.get("/runs")

    assert health.status_code == 503
    assert REFUSED in health.json()["detail"]
    assert runs.status_code == 503
    assert REFUSED in runs.json()["detail"]
    assert str(pgbouncer.port) not in health.text + runs.text
