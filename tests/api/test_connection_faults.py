"""The API when the server has ended every pooled connection ("terminating connection due to
administrator command", as in a restart or a pooler's recycling): every write route answers
as if nothing had happened, because every write path retries before COMMIT."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fitness.db.shoes import create_shoe
from fitness.models import Run
from tests.db.test_connection import terminate_other_backends
from tests.importers.mmf_csv import SAMPLE_EXPORT

AddRuns = Callable[..., list[Run]]

WRITES: list[tuple[str, str, dict[str, object]]] = [
    ("PATCH", "/runs/{run}", {"json": {"distance": 4.5}}),
    ("DELETE", "/runs/{run}", {}),
    ("POST", "/runs/{run}/restore/1", {"json": {}}),
    ("POST", "/shoes", {"json": {"name": "Hoka Clifton 9"}}),
    ("PATCH", "/shoes/{shoe}", {"json": {"notes": "race day only"}}),
    ("DELETE", "/shoes/{shoe}", {}),
    ("POST", "/mmf/upload-csv", {"files": {}}),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_every_write_route_answers_after_the_server_ended_the_pools_connections(
    client: TestClient,
    add_runs: AddRuns,
    db: str,
    method: str,
    path: str,
    body: dict[str, object],
) -> None:
    (run,) = add_runs(1)
    shoe = create_shoe("Brooks Ghost 15")
    if "files" in body:
        export = Path(SAMPLE_EXPORT).read_bytes()
        body = {"files": {"file": ("export.csv", export, "text/csv")}}
    assert client.get(f"/runs/{run.id}").status_code == 200
    assert terminate_other_backends(db) >= 1

    response = client.request(method, path.format(run=run.id, shoe=shoe.id), **body)  # type: ignore[arg-type]

    assert response.status_code < 300, response.text
