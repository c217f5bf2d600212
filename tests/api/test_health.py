"""GET /health: up, down, and back up again without a restart."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from fitness.api.app import create_app
from fitness.config import Settings
from fitness.db.connection import close_pool
from fitness.db.migrations import head_revision
from fitness.models import Run
from fitness.server import health
from tests.api.conftest import TcpGate, _pump
from tests.guarantees.conftest import serving as serving_process

FLOOD_THREADS = 16
FLOOD_REQUESTS_PER_THREAD = 25
CONNECT_DELAY_SECONDS = 0.5


RECOVERY_DEADLINE_SECONDS = 20.0


@contextmanager
def serving(settings: Settings) -> Iterator[TestClient]:
    """A client of the app for `settings`, its lifespan (and so its pool) running."""
    close_pool()
    with TestClient(create_app(settings)) as client:
        yield client


def test_health_reports_the_schema_revision_and_package_version(anonymous: TestClient) -> None:
    response = anonymous.get("/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "schema": head_revision(),
        "version": version("fitness"),
    }


def test_health_is_a_503_when_the_database_does_not_answer(
    settings: Settings, gate: TcpGate
) -> None:
    unreachable = dataclasses.replace(settings, database_url=gate.url)
    with serving(unreachable) as client:
        response = client.get("/health")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["database"] == "unavailable"
    assert body["status"] == 503
    assert body["version"] == version("fitness")
    assert str(gate.port) not in response.text


def test_health_recovers_by_itself_when_the_database_comes_back(
    settings: Settings, gate: TcpGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "ANSWER_REUSED_SECONDS", 0.0)
    with serving(dataclasses.replace(settings, database_url=gate.url)) as client:
        assert client.get("/health").status_code == 503

        gate.open()
        # As soon as the pool's next reconnection attempt succeeds (within its timeout).
        deadline = time.monotonic() + RECOVERY_DEADLINE_SECONDS
        back = client.get("/health")
        while back.status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
            back = client.get("/health")
        gate.close()
        down_again = client.get("/health")

    assert back.status_code == 200, back.text
    assert back.json()["database"] == "ok"
    assert down_again.status_code == 503


class SlowGate(TcpGate):
    """A TcpGate to a database slow to connect: each connection it lets through waits
    `delay` seconds before reaching the database; `opened` counts them."""

    def __init__(self, database_url: str, delay: float) -> None:
        super().__init__(database_url)
        self.delay = delay
        self.opened = 0
        self._count_lock = threading.Lock()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._count_lock:
                self.opened += 1
            threading.Thread(target=self._connect_slowly, args=(client,), daemon=True).start()

    def _connect_slowly(self, client: socket.socket) -> None:
        time.sleep(self.delay)
        family, address = self._target
        upstream = socket.socket(family, socket.SOCK_STREAM)
        upstream.connect(address)  # type: ignore[arg-type]
        self._sockets += [client, upstream]
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def flood(make_client: Callable[[], httpx.Client], path: str) -> list[int]:
    """FLOOD_THREADS clients each sending FLOOD_REQUESTS_PER_THREAD GETs of `path` at once."""

    def send() -> list[int]:
        with make_client() as client:
            return [client.get(path).status_code for _ in range(FLOOD_REQUESTS_PER_THREAD)]

    with ThreadPoolExecutor(FLOOD_THREADS) as threads:
        batches = [threads.submit(send) for _ in range(FLOOD_THREADS)]
        return [status for batch in batches for status in batch.result()]


def test_a_health_flood_opens_no_more_connections_than_a_flood_of_401s(
    db: str, add_runs: Callable[..., list[Run]], tmp_path: Path
) -> None:
    (run,) = add_runs(1)
    gate = SlowGate(db, CONNECT_DELAY_SECONDS)
    gate.open()
    try:
        with serving_process(gate.url, tmp_path / "serve.log") as served:
            with served.client() as authorised:
                assert authorised.get(f"/runs/{run.id}").status_code == 200
            start = gate.opened
            refused = flood(lambda: served.client(token=None), "/runs")
            after_refused = gate.opened
            with ThreadPoolExecutor(1) as reader:
                reads = reader.submit(flood_reads, served.client, f"/runs/{run.id}")
                healths = flood(lambda: served.client(token=None), "/health")
                read_statuses = reads.result()
            after_healths = gate.opened
    finally:
        gate.close()

    requests = FLOOD_THREADS * FLOOD_REQUESTS_PER_THREAD
    print(
        f"\n/health flood: {requests} requests opened {after_healths - after_refused} "
        f"connections; {requests} 401s opened {after_refused - start}"
    )
    assert refused == [401] * requests
    assert healths == [200] * requests
    assert read_statuses == [200] * FLOOD_REQUESTS_PER_THREAD
    # Slack of two for the pool topping itself up while the floods run.
    assert after_healths - after_refused <= after_refused - start + 2


def flood_reads(make_client: Callable[[], httpx.Client], path: str) -> list[int]:
    with make_client() as client:
        return [client.get(path).status_code for _ in range(FLOOD_REQUESTS_PER_THREAD)]
