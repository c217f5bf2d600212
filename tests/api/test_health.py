"""GET /health: up, down, and back up again without a restart."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version

import pytest
from starlette.testclient import TestClient

from fitness.api import health
from fitness.api.app import create_app
from fitness.config import Settings
from fitness.db.connection import close_pool
from fitness.db.migrations import head_revision
from tests.api.conftest import TcpGate


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
        back = client.get("/health")
        gate.close()
        down_again = client.get("/health")

    assert back.status_code == 200, back.text
    assert back.json()["database"] == "ok"
    assert down_again.status_code == 503
